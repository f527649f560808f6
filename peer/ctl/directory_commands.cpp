#include "peer/ctl/directory_commands.hpp"

#include <fcntl.h>
#include <mbedtls/base64.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/directory_file.hpp"
#include "ike/crypto/random.hpp"

namespace ikeme::ctl {

namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kUsage =
    "usage: ikemectl directory [--file PATH] list\n"
    "       ikemectl directory [--file PATH] add [PSEUDONYM] [--domain DOMAIN]\n"
    "                          [--may-connect NAME,...] [--pubkey]\n"
    "       ikemectl directory [--file PATH] remove PSEUDONYM\n"
    "  Edits ikeme-mediator's pseudonym directory (default /etc/ikeme/directory.yaml); the\n"
    "  running mediator reloads it when the file changes. add without PSEUDONYM makes a\n"
    "  random one (@DOMAIN, default: the domain of the existing entries) and, unless --pubkey,\n"
    "  a random 32-byte PSK; both are printed for the new peer's configuration.\n"
    "  -j, --json  print the result as JSON\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "ikemectl directory: %s\n%s", message.c_str(), kUsage);
  return 2;
}

int failure(const std::string& message) {
  std::fprintf(stderr, "ikemectl directory: %s\n", message.c_str());
  return 1;
}

std::string random_pseudonym(ike::crypto::Rng& rng) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  while (out.size() < 8) {
    uint8_t b = rng.bytes(1)[0];
    if (b < 248) out += kAlphabet[b % 62];  // 248 = 4 * 62: no modulo bias
  }
  return out;
}

std::string base64(const Bytes& data) {
  size_t len = 0;
  mbedtls_base64_encode(nullptr, 0, &len, data.data(), data.size());
  std::string out(len, '\0');
  mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), len, &len, data.data(),
                        data.size());
  out.resize(len);
  return out;
}

// Writes `text` next to `path` and renames it over `path` (fsync'd first): readers see the old
// or the new file, never a part. Keeps the old file's mode.
Status<std::string> replace_file(const std::filesystem::path& path, const std::string& text) {
  std::string tmp = path.string() + ".XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) return Unexpected{"cannot create " + tmp + ": " + std::strerror(errno)};
  std::error_code ec;
  auto perms = std::filesystem::status(path, ec).permissions();
  if (!ec) fchmod(fd, static_cast<mode_t>(perms));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unexpected{"cannot write " + tmp + ": " + why};
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Unexpected{"cannot write " + tmp + ": " + why};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Unexpected{"cannot rename " + tmp + " to " + path.string() + ": " + why};
  }
  return {};
}

}  // namespace

std::string directory_usage() {
  return kUsage;
}

int run_directory_command(const std::vector<std::string>& args, bool json) {
  std::filesystem::path file = kDefaultDirectoryFile;
  std::string action, name, domain;
  std::vector<std::string> may_connect;
  bool pubkey = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* what) -> std::optional<std::string> {
      if (i + 1 >= args.size() || args[i + 1].empty()) return std::nullopt;
      (void)what;
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-j" || a == "--json") {
      json = true;
    } else if (a == "-f" || a == "--file") {
      auto v = value("a path");
      if (!v) return usage_error(a + " needs a path");
      file = *v;
    } else if (a == "--domain") {
      auto v = value("a domain");
      if (!v) return usage_error(a + " needs a domain");
      domain = *v;
    } else if (a == "--may-connect") {
      auto v = value("names");
      if (!v) return usage_error(a + " needs a comma-separated list of names");
      std::stringstream ss(*v);
      for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) may_connect.push_back(item);
    } else if (a == "--pubkey") {
      pubkey = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option '" + a + "'");
    } else if (action.empty()) {
      action = a;
    } else if (name.empty() && (action == "add" || action == "remove")) {
      name = a;
    } else {
      return usage_error("unexpected argument '" + a + "'");
    }
  }
  if (action != "list" && action != "add" && action != "remove")
    return usage_error(action.empty() ? "no action given" : "unknown action '" + action + "'");
  if (action == "remove" && name.empty()) return usage_error("remove needs a PSEUDONYM");

  // The file as it is must be valid: a broken directory is fixed by hand, not overwritten.
  std::error_code ec;
  const bool exists = std::filesystem::exists(file, ec);
  config::Directory current;
  if (exists) {
    auto loaded = config::load_directory(file);
    if (!loaded) return failure(loaded.error().to_string() + " (the file is left unchanged)");
    current = std::move(*loaded);
  } else if (action != "add") {
    return failure("cannot read " + file.string() + ": no such file");
  }

  if (action == "list") {
    if (json) {
      Json list = Json::array();
      for (const config::DirectoryEntry& e : current.entries())
        list.push_back(
            Json{{"pseudonym", e.pseudonym},
                 {"auth", e.credential == config::CredentialKind::Psk ? "psk" : "pubkey"},
                 {"may-connect", e.may_connect}});
      Json groups = Json::object();
      for (const auto& [g, members] : current.groups()) groups[g] = members;
      std::printf("%s\n", Json{{"pseudonyms", list}, {"groups", groups}}.dump().c_str());
      return 0;
    }
    for (const config::DirectoryEntry& e : current.entries()) {
      std::string reach;
      for (const std::string& m : e.may_connect) reach += (reach.empty() ? "" : ", ") + m;
      std::printf("%s  %s  may connect: %s\n", e.pseudonym.c_str(),
                  e.credential == config::CredentialKind::Psk ? "psk" : "pubkey",
                  reach.empty() ? "(nobody)" : reach.c_str());
    }
    for (const auto& [g, members] : current.groups()) {
      std::string list;
      for (const std::string& m : members) list += (list.empty() ? "" : ", ") + m;
      std::printf("group %s: %s\n", g.c_str(), list.c_str());
    }
    return 0;
  }

  YAML::Node root;
  try {
    root = exists ? YAML::LoadFile(file.string()) : YAML::Node(YAML::NodeType::Map);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  } catch (const std::exception& e) {
    return failure(std::string("cannot read ") + file.string() + ": " + e.what());
  }
  std::string psk_text;
  if (action == "remove") {
    auto id = ike::Identity::parse(name);
    std::string canonical = id ? id->to_string() : name;
    if (!current.contains(canonical))
      return failure("no pseudonym '" + name + "' in " + file.string());
    YAML::Node pseudonyms = root["pseudonyms"];
    for (auto it = pseudonyms.begin(); it != pseudonyms.end(); ++it) {
      auto key_id = ike::Identity::parse(it->first.as<std::string>());
      if (key_id && key_id->to_string() == canonical) {
        pseudonyms.remove(it->first);
        break;
      }
    }
    // Whoever listed it may no longer reach it: references go too, so the file stays valid.
    for (auto it = pseudonyms.begin(); it != pseudonyms.end(); ++it) {
      YAML::Node reach = it->second["may_connect"];
      if (!reach || !reach.IsSequence()) continue;
      YAML::Node kept(YAML::NodeType::Sequence);
      for (const auto& r : reach)
        if (r.as<std::string>() != name && r.as<std::string>() != canonical) kept.push_back(r);
      it->second["may_connect"] = kept;
    }
    if (YAML::Node groups = root["groups"]; groups && groups.IsMap())
      for (auto it = groups.begin(); it != groups.end(); ++it) {
        YAML::Node kept(YAML::NodeType::Sequence);
        for (const auto& r : it->second)
          if (r.as<std::string>() != name && r.as<std::string>() != canonical) kept.push_back(r);
        it->second = kept;
      }
    name = canonical;
  } else {
    auto rng = ike::crypto::DrbgRng::create();
    if (!rng) return failure("cannot seed the random generator: " + rng.error().detail);
    if (name.empty()) {
      if (domain.empty())
        for (const config::DirectoryEntry& e : current.entries())
          if (auto at = e.pseudonym.find('@'); at != std::string::npos) {
            domain = e.pseudonym.substr(at + 1);
            break;
          }
      if (domain.empty()) return usage_error("add without PSEUDONYM needs --domain DOMAIN");
      do name = random_pseudonym(**rng) + "@" + domain;
      while (current.contains(name));
    }
    auto id = ike::Identity::parse(name);
    if (!id || id->is_any()) return failure("invalid pseudonym '" + name + "'");
    name = id->to_string();
    if (current.contains(name)) return failure("pseudonym '" + name + "' is already listed");
    YAML::Node entry(YAML::NodeType::Map);
    if (pubkey) {
      entry["auth"] = "pubkey";
    } else {
      psk_text = "0s" + base64((*rng)->bytes(32));
      entry["psk"] = psk_text;
    }
    YAML::Node reach(YAML::NodeType::Sequence);
    reach.SetStyle(YAML::EmitterStyle::Flow);
    for (const std::string& m : may_connect) reach.push_back(m);
    entry["may_connect"] = reach;
    root["pseudonyms"][name] = entry;
  }
  YAML::Emitter emitter;
  emitter << root;
  std::string text = std::string(emitter.c_str()) + "\n";
  // The result must load, or nothing is written (e.g. --may-connect names an unknown peer).
  if (auto check = config::load_directory_string(text, file.string() + " (edited)"); !check)
    return failure(check.error().to_string() + "; the file is left unchanged");
  if (auto w = replace_file(file, text); !w) return failure(w.error());
  if (json) {
    Json j{{"ok", true}, {"action", action}, {"pseudonym", name}};
    if (!psk_text.empty()) j["psk"] = psk_text;
    std::printf("%s\n", j.dump().c_str());
  } else if (action == "add") {
    std::printf("added %s to %s\n", name.c_str(), file.string().c_str());
    if (!psk_text.empty()) std::printf("  psk: %s\n", psk_text.c_str());
  } else {
    std::printf("removed %s from %s\n", name.c_str(), file.string().c_str());
  }
  return 0;
}

}  // namespace ikeme::ctl
