#pragma once
// The JSON shapes of the control replies, built from the engine's listings and configuration.
// Member names follow strongSwan's vici (list-sas: "local-host", "initiator-spi", "child-sas",
// "spi-in", ...) so that a strongSwan user recognises them; lists are arrays, SPIs hex strings.

#include <string>
#include <vector>

#include "esp-kernel/dataplane.hpp"
#include "ike/sa/connection.hpp"
#include "ike/sa/engine.hpp"
#include "ike/sa/ike_sa.hpp"
#include "peer/child_sa_table.hpp"
#include "peer/control_protocol.hpp"

namespace ikeme::peer {

// One IKE SA with its CHILD_SAs; `children` adds install times and lifetimes, `dataplane` the
// ESP counters (either may be null).
Json sa_json(const ike::IkeSaInfo& sa, const ChildSaTable* children, ike::Timestamp now,
             const esp::Dataplane* dataplane = nullptr);
Json conn_json(const ike::ConnectionConfig& conn);
// The virtual IP pools and their leases (list-pools).
Json pools_json(const std::vector<ike::PoolInfo>& pools);

struct DaemonCounters {
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t send_errors = 0;
  uint64_t receive_errors = 0;
  uint64_t truncated = 0;
  uint64_t esp_dropped = 0;   // ESP on the NAT-T port while there is no data plane
  uint64_t esp_received = 0;  // ESP handed to the (userspace) data plane
  uint64_t keepalives_received = 0;
  uint64_t control_requests = 0;
  uint64_t control_errors = 0;
};

struct StatsInput {
  const ike::EngineStats* engine = nullptr;
  const DaemonCounters* daemon = nullptr;
  size_t ike_sas = 0, half_open = 0, child_sas = 0;
  size_t control_clients = 0;  // connected now, this one included
  uint64_t uptime_s = 0;
  long pid = 0;
  std::string config_file;
  std::vector<std::string> listening;  // "127.0.0.1[500]"
  const esp::Dataplane* dataplane = nullptr;
};
Json stats_json(const StatsInput& in);

// "0123456789abcdef" / "c1234567"
std::string spi64_hex(uint64_t spi);
std::string spi32_hex(uint32_t spi);
// "10.1.0.0/16 10.2.0.0/24" -> ["10.1.0.0/16", "10.2.0.0/24"]
Json split_words(const std::string& text);

}  // namespace ikeme::peer
