#pragma once
// A detached daemon changes to "/", so the file names in its configuration (log file, control
// socket) are made absolute against the directory it was started from, once at start and again
// at each reload.

#include <filesystem>

#include "config/peer_config.hpp"

namespace ikeme::peer {

void absolutize_paths(config::PeerConfig& config, const std::filesystem::path& base);

}  // namespace ikeme::peer
