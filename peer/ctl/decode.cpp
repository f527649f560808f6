#include "peer/ctl/decode.hpp"

#include <cstdio>

#include "peer/ctl/capture.hpp"
#include "peer/ctl/datagram_decoder.hpp"

namespace ikeme::ctl {
namespace {

constexpr const char* kDecodeUsage =
    "usage: ikemectl decode [--keys KEYFILE] [--verbose] [--all] FILE\n"
    "  Prints one line per IKE message, ESP packet and NAT-keepalive in a pcap/pcapng capture,\n"
    "  with IKE-ME names (ME_CONNECT, N(ME_EP), ...) and decoded ME_ENDPOINT contents.\n"
    "  --keys KEYFILE  decrypt, verify and reassemble SK/SKF payloads with the IKE SA keys in\n"
    "             KEYFILE (Wireshark's ikev2_decryption_table CSV format)\n"
    "  --verbose  also show IKE SPIs and whether a non-ESP marker preceded the message\n"
    "  --all      also list UDP datagrams that are not IKE, ESP or keepalives\n";

}  // namespace

int run_decode(const std::vector<std::string>& args) {
  bool verbose = false, all = false;
  std::string file, keys_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--keys" || a == "-k") {
      if (i + 1 == args.size()) {
        std::fprintf(stderr, "ikemectl decode: %s needs a key file\n%s", a.c_str(), kDecodeUsage);
        return 2;
      }
      keys_file = args[++i];
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--all") {
      all = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kDecodeUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "ikemectl decode: unknown option '%s'\n%s", a.c_str(), kDecodeUsage);
      return 2;
    } else if (file.empty()) {
      file = a;
    } else {
      std::fprintf(stderr, "ikemectl decode: more than one capture file given ('%s')\n", a.c_str());
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "ikemectl decode: no capture file given\n%s", kDecodeUsage);
    return 2;
  }
  auto cap = read_capture(file);
  if (!cap) {
    std::fprintf(stderr, "ikemectl decode: cannot read capture: %s\n", cap.error().c_str());
    return 1;
  }
  KeyTable keys;
  if (!keys_file.empty()) {
    auto loaded = load_ike_keys(keys_file);
    if (!loaded) {
      std::fprintf(stderr, "ikemectl decode: %s\n", loaded.error().c_str());
      return 1;
    }
    keys = std::move(loaded.value());
  }
  DatagramDecoder decoder(keys_file.empty() ? nullptr : &keys);
  size_t ike = 0, malformed = 0, esp = 0, keepalives = 0, other = 0;
  int64_t t0 = cap->datagrams.empty() ? 0 : cap->datagrams.front().time_ns;
  for (const UdpDatagram& d : cap->datagrams) {
    DecodedDatagram x = decoder.decode(d);
    switch (x.kind) {
      case DecodedDatagram::Kind::Ike:
        ++ike;
        break;
      case DecodedDatagram::Kind::Malformed:
        ++malformed;
        break;
      case DecodedDatagram::Kind::Esp:
        ++esp;
        break;
      case DecodedDatagram::Kind::Keepalive:
        ++keepalives;
        break;
      case DecodedDatagram::Kind::NotIke:
        ++other;
        break;
    }
    if (x.kind == DecodedDatagram::Kind::NotIke && !all) continue;
    std::printf("%s\n", format_decoded(d, x, t0, verbose).c_str());
  }
  std::printf(
      "# %zu frames: %zu IKE messages, %zu malformed, %zu ESP, %zu keepalives, %zu other UDP, "
      "%zu frames not UDP\n",
      cap->frames, ike, malformed, esp, keepalives, other, cap->skipped_frames);
  return 0;
}

}  // namespace ikeme::ctl
