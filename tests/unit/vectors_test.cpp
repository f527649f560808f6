// The real strongSwan double-NAT mediation capture (shared/vectors/strongswan-p2p): every IKE
// message decodes, the cleartext payload lists equal what the strongSwan daemons logged, and
// every message re-encodes byte for byte.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "ike/codec/framing.hpp"
#include "ike/codec/message.hpp"
#include "ike/codec/summary.hpp"
#include "peer/ctl/capture.hpp"
#include "peer/ctl/datagram_decoder.hpp"
#include "peer/ctl/ike_keys.hpp"

using namespace ikeme;

namespace {

const std::string kVectors = std::string(IKEME_TEST_DATA_DIR) + "/strongswan-p2p/";

// host -> summaries of every message it logged as "generating ..."
std::multimap<std::string, std::string> generated_by_host() {
  std::ifstream in(kVectors + "message-sequence.txt");
  REQUIRE(in);
  std::multimap<std::string, std::string> out;
  std::regex line(R"(^\s*[0-9.]+\s+(\w+)\s.*\bgenerating (\S+ (request|response) \d+ \[.*\])\s*$)");
  std::string s;
  std::smatch m;
  while (std::getline(in, s))
    if (std::regex_match(s, m, line)) out.emplace(m[1], m[2]);
  return out;
}

std::string host_of(const IpAddress& a) {
  static const std::map<std::string, std::string> kHosts = {
      {"192.0.2.1", "alice"}, {"192.0.2.2", "bob"}, {"192.0.2.100", "carol"}};
  auto it = kHosts.find(a.to_string());
  return it == kHosts.end() ? "?" : it->second;
}

bool encrypted(const ike::Message& m) {
  return m.find(ike::PayloadType::SK) != nullptr;
}

}  // namespace

TEST_CASE("every datagram of the strongSwan capture is recognised and decodes", "[vectors]") {
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  CHECK(cap->frames == 73);
  CHECK(cap->skipped_frames == 0);
  ctl::DatagramDecoder decoder;
  int ike = 0, esp = 0, cleartext = 0, fragments = 0, me_connect = 0;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    INFO("frame " << d.frame);
    REQUIRE(x.kind != ctl::DecodedDatagram::Kind::Malformed);
    REQUIRE(x.kind != ctl::DecodedDatagram::Kind::NotIke);
    if (x.kind == ctl::DecodedDatagram::Kind::Esp) ++esp;
    if (x.kind != ctl::DecodedDatagram::Kind::Ike) continue;
    ++ike;
    CHECK(x.details.size() == x.message->notifies(ike::NotifyType::ME_ENDPOINT).size());
    if (x.message->find(ike::PayloadType::SKF))
      ++fragments;
    else if (!encrypted(*x.message))
      ++cleartext;
    if (x.message->header.exchange == ike::ExchangeType::ME_CONNECT) ++me_connect;
  }
  CHECK(ike == 33);
  CHECK(esp == 40);
  // Two mediation IKE_AUTH responses and the direct IKE_AUTH request and response: 2 each.
  CHECK(fragments == 8);
  CHECK(cleartext == 11);  // 6 IKE_SA_INIT + 5 connectivity checks
  CHECK(me_connect == 8);  // the four relayed ME_CONNECT exchanges
}

TEST_CASE("cleartext payload lists match what the strongSwan daemons logged", "[vectors]") {
  auto logged = generated_by_host();
  REQUIRE(logged.size() > 40);
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  ctl::DatagramDecoder decoder;
  int compared = 0;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    if (x.kind != ctl::DecodedDatagram::Kind::Ike || encrypted(*x.message)) continue;
    std::string summary = ike::summarize(*x.message);
    std::string host = host_of(d.src);
    INFO("frame " << d.frame << " from " << host << ": " << summary);
    auto [lo, hi] = logged.equal_range(host);
    bool found = false;
    for (auto it = lo; it != hi; ++it) found = found || it->second == summary;
    CHECK(found);
    ++compared;
  }
  CHECK(compared == 19);  // 11 cleartext messages + 8 fragments
}

TEST_CASE("every IKE message of the capture re-encodes byte for byte", "[vectors]") {
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  int checked = 0;
  for (const auto& d : cap->datagrams) {
    ByteView bytes(d.payload);
    if (d.src_port != 500 && d.dst_port != 500) {
      auto f = ike::classify_nat_t(bytes);
      if (f.kind != ike::DatagramKind::Ike) continue;
      bytes = f.payload;
    }
    auto m = ike::parse_message(bytes);
    INFO("frame " << d.frame);
    REQUIRE(m.ok());
    auto again = ike::encode_message(*m);
    REQUIRE(again.ok());
    CHECK(Bytes(bytes.begin(), bytes.end()) == *again);
    ++checked;
  }
  CHECK(checked == 33);
}

TEST_CASE("with the capture's keys every encrypted message decrypts to what strongSwan logged",
          "[vectors][crypto]") {
  auto logged = generated_by_host();
  auto keys = ctl::load_ike_keys(kVectors + "ike-keys.csv");
  REQUIRE(keys.ok());
  CHECK(keys->size() == 3);
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  ctl::DatagramDecoder decoder(&*keys);
  int decrypted = 0, reassembled = 0, waiting = 0;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    if (x.kind != ctl::DecodedDatagram::Kind::Ike) continue;
    bool protected_message =
        x.message->find(ike::PayloadType::SK) || x.message->find(ike::PayloadType::SKF);
    if (!protected_message) continue;
    INFO("frame " << d.frame << ": " << x.decrypt_error);
    CHECK(x.decrypt_error.empty());
    if (!x.inner) {
      ++waiting;  // a first fragment: the message completes with the next one
      continue;
    }
    std::string summary = ike::summarize(ike::Message{x.message->header, *x.inner});
    std::string host = host_of(d.src);
    auto [lo, hi] = logged.equal_range(host);
    bool found = false;
    for (auto it = lo; it != hi; ++it) found = found || it->second == summary;
    INFO(summary);
    CHECK(found);
    ++(x.reassembled_from ? reassembled : decrypted);
  }
  CHECK(decrypted == 14);   // 2 IKE_AUTH requests, 8 ME_CONNECT, 4 INFORMATIONAL
  CHECK(reassembled == 4);  // 2 mediation IKE_AUTH responses, the direct IKE_AUTH both ways
  CHECK(waiting == 4);
}

TEST_CASE("a wrong integrity key is detected, not decrypted into garbage", "[vectors][crypto]") {
  std::string path =
      (std::filesystem::temp_directory_path() / ("ikeme-keys-" + std::to_string(getpid()) + ".csv"))
          .string();
  {
    std::ifstream in(kVectors + "ike-keys.csv");
    std::ofstream out(path);
    std::string line;
    while (std::getline(in, line)) {
      // Flip one hex digit of the last key field (SK_ar) on every line.
      auto pos = line.rfind(",\"HMAC");
      if (pos != std::string::npos && pos > 0) line[pos - 1] = line[pos - 1] == '0' ? '1' : '0';
      out << line << "\n";
    }
  }
  auto keys = ctl::load_ike_keys(path);
  std::remove(path.c_str());
  REQUIRE(keys.ok());
  auto cap = ctl::read_capture(kVectors + "public.pcap");
  REQUIRE(cap.ok());
  ctl::DatagramDecoder decoder(&*keys);
  int failed = 0, opened = 0;
  for (const auto& d : cap->datagrams) {
    auto x = decoder.decode(d);
    if (x.kind != ctl::DecodedDatagram::Kind::Ike) continue;
    if (!x.message->find(ike::PayloadType::SK) && !x.message->find(ike::PayloadType::SKF)) continue;
    if (x.message->header.initiator()) {
      opened += x.decrypt_error.empty();  // SK_ai is intact
    } else {
      CHECK(x.decrypt_error.find("integrity check failed") != std::string::npos);
      ++failed;
    }
  }
  CHECK(failed == 12);  // responder-sent messages and fragments
  CHECK(opened == 10);
}
