// Writes fuzzing seeds from a capture: each IKE message (marker removed) into DIR/message/, each
// ME_ENDPOINT notify's data into DIR/me_endpoint/, each connectivity check into DIR/ice_check/.
// Usage: extract_seeds CAPTURE DIR

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ike/codec/framing.hpp"
#include "ike/codec/me_rules.hpp"
#include "ike/codec/message.hpp"
#include "peer/ctl/capture.hpp"

using namespace ikeme;

namespace {

void write_file(const std::filesystem::path& path, ByteView data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: extract_seeds CAPTURE DIR\n");
    return 2;
  }
  auto cap = ctl::read_capture(argv[1]);
  if (!cap) {
    std::fprintf(stderr, "extract_seeds: %s\n", cap.error().c_str());
    return 1;
  }
  std::filesystem::path dir(argv[2]);
  std::filesystem::create_directories(dir / "message");
  std::filesystem::create_directories(dir / "me_endpoint");
  std::filesystem::create_directories(dir / "ice_check");
  int messages = 0, endpoints = 0;
  for (const auto& d : cap->datagrams) {
    ByteView bytes(d.payload);
    if (d.src_port != 500 && d.dst_port != 500) {
      auto f = ike::classify_nat_t(bytes);
      if (f.kind != ike::DatagramKind::Ike) continue;
      bytes = f.payload;
    }
    auto m = ike::parse_message(bytes);
    if (!m) continue;
    write_file(dir / "message" / ("frame" + std::to_string(d.frame)), bytes);
    ++messages;
    if (ike::is_connectivity_check(m->header))
      write_file(dir / "ice_check" / ("frame" + std::to_string(d.frame)), bytes);
    for (const auto* n : m->notifies(ike::NotifyType::ME_ENDPOINT))
      write_file(dir / "me_endpoint" / ("ep" + std::to_string(endpoints++)), n->data);
  }
  std::printf("extract_seeds: %d messages, %d ME_ENDPOINT notifies\n", messages, endpoints);
  return messages > 0 ? 0 : 1;
}
