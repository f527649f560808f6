#include "config/directory_file.hpp"

#include <set>

#include "config/secret.hpp"
#include "config/yaml_fields.hpp"
#include "config/yaml_keys.hpp"

namespace ikeme::config {
namespace {

template <class T>
using R = Result<T, ConfigError>;

R<std::optional<YamlNode>> optional_mapping(const YamlNode& map, std::string_view key) {
  auto v = optional_value(map, key);
  if (!v) return Unexpected{v.error()};
  if (*v && !(*v)->is_map())
    return Unexpected{(*v)->error("expected a mapping, found " + std::string((*v)->kind()))};
  return std::move(v.value());
}

R<ike::Identity> pseudonym_identity(const YamlNode& at, const std::string& text) {
  auto id = ike::Identity::parse(text);
  if (!id || id->is_any() || text.starts_with("%"))
    return Unexpected{at.error("invalid pseudonym '" + text +
                               "': expected an identity like name@domain or an FQDN")};
  return std::move(*id);
}

struct Reference {  // a may_connect item, resolved once the groups are known
  std::string name;
  YamlNode at;
  size_t entry = 0, index = 0;
};

R<Directory> load_document(const YamlDocument& doc) {
  const YamlNode& root = doc.root;
  if (!root.is_null() && !root.is_map())
    return Unexpected{root.error("expected a mapping with pseudonyms and groups, found " +
                                 std::string(root.kind()))};
  if (auto k = check_keys(root, {"pseudonyms", "groups"}); !k) return Unexpected{k.error()};
  std::vector<DirectoryEntry> entries;
  std::set<std::string> names;
  std::vector<Reference> references;  // may_connect items and group members, checked at the end
  auto pseudonyms = optional_mapping(root, "pseudonyms");
  if (!pseudonyms) return Unexpected{pseudonyms.error()};
  if (*pseudonyms) {
    auto list = (*pseudonyms)->entries();
    if (!list) return Unexpected{list.error()};
    for (const YamlEntry& e : *list) {
      auto id = pseudonym_identity(e.key_node, e.key);
      if (!id) return Unexpected{id.error()};
      DirectoryEntry d;
      d.identity = *id;
      d.pseudonym = id->to_string();
      if (!names.insert(d.pseudonym).second)
        return Unexpected{e.key_node.error("pseudonym '" + d.pseudonym + "' is listed twice")};
      if (!e.value.is_null() && !e.value.is_map())
        return Unexpected{
            e.value.error("expected a mapping, found " + std::string(e.value.kind()))};
      if (auto k = check_keys(e.value, {"auth", "psk", "may_connect"}); !k)
        return Unexpected{k.error()};
      auto auth = optional_string(e.value, "auth");
      if (!auth) return Unexpected{auth.error()};
      if (auth.value() && **auth != "psk" && **auth != "pubkey") {
        auto at = required_value(e.value, "auth");
        return Unexpected{at->error("expected psk or pubkey, found '" + **auth + "'")};
      }
      d.credential =
          auth.value() && **auth == "pubkey" ? CredentialKind::Pubkey : CredentialKind::Psk;
      auto psk_node = optional_value(e.value, "psk");
      if (!psk_node) return Unexpected{psk_node.error()};
      if (d.credential == CredentialKind::Psk) {
        if (!*psk_node)
          return Unexpected{
              e.key_node.error("pseudonym '" + d.pseudonym + "' needs a psk (or auth: pubkey)")};
        auto psk = required_secret(e.value, "psk");
        if (!psk) return Unexpected{psk.error()};
        if (psk->size() < kMinDirectoryPskBytes)
          return Unexpected{
              (*psk_node)->error("pre-shared key is too short (" + std::to_string(psk->size()) +
                                 " bytes); use at least " + std::to_string(kMinDirectoryPskBytes) +
                                 " (ikemectl directory add generates 32 random bytes)")};
        d.psk = std::move(psk.value());
      } else if (*psk_node) {
        return Unexpected{(*psk_node)->error("a psk makes no sense with auth: pubkey")};
      }
      auto reach = optional_value(e.value, "may_connect");
      if (!reach) return Unexpected{reach.error()};
      if (*reach) {
        auto items = read_string_list(**reach);
        if (!items) return Unexpected{items.error()};
        for (std::string& item : *items) {
          references.push_back(Reference{item, **reach, entries.size(), d.may_connect.size()});
          d.may_connect.push_back(std::move(item));
        }
      }
      entries.push_back(std::move(d));
    }
  }
  std::map<std::string, std::vector<std::string>> groups;
  auto group_map = optional_mapping(root, "groups");
  if (!group_map) return Unexpected{group_map.error()};
  if (*group_map) {
    auto list = (*group_map)->entries();
    if (!list) return Unexpected{list.error()};
    for (const YamlEntry& e : *list) {
      if (names.count(e.key))
        return Unexpected{
            e.key_node.error("group '" + e.key + "' has the name of a pseudonym; rename it")};
      if (groups.count(e.key))
        return Unexpected{e.key_node.error("group '" + e.key + "' is defined twice")};
      auto members = read_string_list(e.value);
      if (!members) return Unexpected{members.error()};
      std::vector<std::string> canonical;
      for (const std::string& m : *members) {
        auto id = pseudonym_identity(e.value, m);
        if (!id) return Unexpected{id.error()};
        if (!names.count(id->to_string()))
          return Unexpected{
              e.value.error("group member '" + m + "' is not a pseudonym of this directory")};
        canonical.push_back(id->to_string());
      }
      groups[e.key] = std::move(canonical);
    }
  }
  for (const Reference& r : references) {
    if (groups.count(r.name)) continue;
    auto id = ike::Identity::parse(r.name);
    std::string canonical = id ? id->to_string() : r.name;
    if (!names.count(canonical))
      return Unexpected{r.at.error("may_connect names '" + r.name +
                                   "', which is neither a pseudonym nor a group of this "
                                   "directory")};
    entries[r.entry].may_connect[r.index] = canonical;
  }
  return Directory(std::move(entries), std::move(groups));
}

R<Directory> load(const YamlDocument& doc) {
  return guarded_load(doc, load_document);
}

}  // namespace

Result<Directory, ConfigError> load_directory(const std::filesystem::path& path) {
  auto doc = load_yaml_file(path);
  if (!doc) return Unexpected{doc.error()};
  return load(*doc);
}

Result<Directory, ConfigError> load_directory_string(std::string_view yaml,
                                                     const std::string& display_name) {
  auto doc = load_yaml_string(yaml, display_name);
  if (!doc) return Unexpected{doc.error()};
  return load(*doc);
}

}  // namespace ikeme::config
