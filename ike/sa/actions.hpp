#pragma once
// What the IKE engine asks its caller to do. The engine is sans-IO: it appends to an Actions value
// and the daemon (or a simulation) carries them out: sends datagrams, hands CHILD_SAs to the data
// plane, and logs.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ike/codec/payloads.hpp"
#include "ike/sa/connection.hpp"
#include "ike/sa/endpoint.hpp"
#include "ike/sa/proposals.hpp"

namespace ikeme::ike {

struct SendDatagram {
  Endpoint from;  // local address and port (500 or the NAT-T port)
  Endpoint to;
  Bytes data;  // ready to send, non-ESP marker included where needed
};

// Everything a data plane needs to install one CHILD_SA (both directions).
struct ChildSaParams {
  uint32_t ike_sa_id = 0;
  std::string connection;
  std::string child;
  uint32_t unique_id = 0;
  uint32_t spi_in = 0;   // ours: inbound ESP packets carry it
  uint32_t spi_out = 0;  // the peer's
  EspAlgorithms algorithms;
  Bytes encr_key_in, integ_key_in;    // protects packets we receive
  Bytes encr_key_out, integ_key_out;  // protects packets we send
  std::vector<TrafficSelector> local_ts, remote_ts;
  ChildMode mode = ChildMode::Tunnel;
  Endpoint local, remote;          // outer addresses
  bool udp_encapsulation = false;  // ESP-in-UDP on the NAT-T ports (a NAT was detected)
  uint64_t rekey_time_s = 0, life_time_s = 0;
  // Rekeying (CREATE_CHILD_SA): the unique id of the CHILD_SA this one replaces, 0 for none. The
  // XFRM backend gives it the same reqid, so that the policies hold both while they overlap.
  uint32_t replaces = 0;
  // The responder of a rekeying sends on the new CHILD_SA only once the old one is gone (RFC
  // 7296 §2.8: the initiator may not have installed it yet): until the data plane removes the
  // replaced CHILD_SA, that one keeps carrying outbound traffic. The initiator switches at once.
  bool outbound_after_replaced = false;
};

struct ChildSaEvent {
  enum class Kind { Installed, Deleted };
  Kind kind = Kind::Installed;
  ChildSaParams params;  // for Deleted, the SPIs and names identify it
};

// A virtual IP that an IKE SA obtained or handed out (configuration payload, RFC 7296 §3.15).
// Local: the peer assigned it to us; the data plane adds it to an interface (and uses it as the
// source of tunnelled traffic) until Released. Remote: we assigned it to the peer from `pool`;
// it is the peer's inner address. Each gets one Assigned and one Released, both with the IKE SA's
// id, so a data plane can tell an address that moved from an old SA to a new one apart.
struct VirtualIpEvent {
  enum class Kind { Assigned, Released };
  enum class Side { Local, Remote };
  Kind kind = Kind::Assigned;
  Side side = Side::Local;
  uint32_t ike_sa_id = 0;
  std::string connection;
  IpAddress address;
  std::string pool;            // Remote: the pool it came from
  std::vector<IpAddress> dns;  // DNS servers sent with it (Local: received; Remote: sent)
};

// A responder's Diffie-Hellman shared secret to compute outside the engine call
// (EngineConfig::defer_key_exchange): the caller runs compute() on any thread and hands the job
// and its result back through IkeEngine::complete_key_exchange on the engine's thread. Nothing
// else touches `ke`: it is the SA's own private value, or a duplicate of a reused one.
struct KeyExchangeJob {
  uint64_t spi = 0;    // our SPI of the IKE SA waiting for it
  uint32_t sa_id = 0;  // and its unique id (a later SA could reuse nothing but the SPI)
  std::shared_ptr<crypto::KeyExchange> ke;
  Bytes peer_public;  // the initiator's Key Exchange Data

  Result<Bytes, crypto::CryptoError> compute() const { return ke->shared_secret(peer_public); }
};

enum class Subsystem { ENC, NET, IKE, CFG, CHD, KNL, MED, ICE };
const char* name(Subsystem s);

struct LogLine {
  Subsystem subsystem = Subsystem::IKE;
  int level = 1;           // strongSwan's levels: 0 basic, 1 audit, 2 control, 3 controlmore, 4 raw
  uint32_t ike_sa_id = 0;  // 0 = not tied to an SA
  std::string connection;  // the SA's connection name, if known
  std::string text;
};

struct Actions {
  std::vector<SendDatagram> sends;
  std::vector<ChildSaEvent> children;
  std::vector<VirtualIpEvent> vips;
  std::vector<LogLine> logs;
  std::vector<KeyExchangeJob> key_exchanges;  // only with EngineConfig::defer_key_exchange

  void log(Subsystem s, int level, uint32_t sa, const std::string& conn, std::string text) {
    logs.push_back(LogLine{s, level, sa, conn, std::move(text)});
  }
};

}  // namespace ikeme::ike
