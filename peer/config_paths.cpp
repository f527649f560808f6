#include "peer/config_paths.hpp"

namespace ikeme::peer {

namespace {

void absolutize(std::string& path, const std::filesystem::path& base) {
  if (path.empty()) return;
  std::filesystem::path p(path);
  if (p.is_relative()) path = (base / p).lexically_normal().string();
}

}  // namespace

void absolutize_paths(config::PeerConfig& config, const std::filesystem::path& base) {
  absolutize(config.daemon.log.file, base);
  absolutize(config.daemon.control_socket, base);
}

}  // namespace ikeme::peer
