#pragma once
// The CHILD_SAs the engine asked to install, kept for listings (install time, lifetimes) and for
// the data plane's expiry events (which IKE SA and connection a CHILD_SA belongs to). No keys
// are kept: the data plane holds them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "ike/sa/actions.hpp"

namespace ikeme::peer {

struct InstalledChild {
  uint32_t ike_sa_id = 0;
  std::string connection, child;
  uint32_t unique_id = 0;
  uint32_t spi_in = 0, spi_out = 0;
  ike::Timestamp installed{0};
  uint64_t rekey_time_s = 0, life_time_s = 0;
};

class ChildSaTable {
 public:
  // Records an Installed event, forgets a Deleted one. Returns the CHILD_SA's description for
  // the KNL log line ("CHILD_SA net{1} SPIs ..., 10.1.0.0/16 === 10.2.0.0/16, TUNNEL, ...").
  std::string apply(const ike::ChildSaEvent& event, ike::Timestamp now);
  const InstalledChild* find(uint32_t unique_id) const;
  size_t size() const { return children_.size(); }

 private:
  std::map<uint32_t, InstalledChild> children_;  // by unique id
};

// "net{1} SPIs c1234567_i c7654321_o, 10.1.0.0/16 === 10.2.0.0/16, TUNNEL, AES_GCM_16_128"
std::string describe_child(const ike::ChildSaParams& p);

}  // namespace ikeme::peer
