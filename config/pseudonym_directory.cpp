#include "config/pseudonym_directory.hpp"

namespace ikeme::config {

Directory::Directory(std::vector<DirectoryEntry> entries,
                     std::map<std::string, std::vector<std::string>> groups)
    : entries_(std::move(entries)), groups_(std::move(groups)) {
  for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].pseudonym] = i;
  for (const DirectoryEntry& e : entries_) {
    std::set<std::string>& reach = allowed_[e.pseudonym];
    for (const std::string& target : e.may_connect) {
      if (auto g = groups_.find(target); g != groups_.end())
        reach.insert(g->second.begin(), g->second.end());
      else
        reach.insert(target);
    }
    reach.erase(e.pseudonym);  // nobody mediates to itself
  }
}

const DirectoryEntry* Directory::find(const std::string& pseudonym) const {
  auto it = index_.find(pseudonym);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

bool Directory::may_connect(const std::string& from, const std::string& to) const {
  auto it = allowed_.find(from);
  return it != allowed_.end() && it->second.count(to) && contains(to);
}

}  // namespace ikeme::config
