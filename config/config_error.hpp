#pragma once
// The one error type of configuration loading. Every problem a user can make in a config file is
// reported with the place to fix it, so the daemon can refuse to start with a message like
//   /etc/ikeme/peer.yaml:12:5: connections.home.remote_addrs: expected a string, found a mapping

#include <string>

namespace ikeme::config {

struct ConfigError {
  std::string file;   // display name: the path given to the loader, or a caller-chosen name
  int line = 0;       // 1-based; 0 when the error concerns the whole file (e.g. it cannot be read)
  int column = 0;     // 1-based; 0 when line is 0
  std::string field;  // dotted path from the document root, e.g. "connections.home.remote_addrs"
  std::string message;

  // "file:line:col: field: message"; the position is left out when line is 0 and the field when
  // it is empty, so a file-level error reads "file: message".
  std::string to_string() const;
};

}  // namespace ikeme::config
