#include "peer/ctl/ike_keys.hpp"

#include <fstream>
#include <regex>
#include <vector>

namespace ikeme::ctl {
namespace {

// Splits a CSV line; fields may be double-quoted (commas inside quotes are kept).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      fields.emplace_back();
    else
      fields.back() += c;
  }
  for (auto& f : fields) {
    size_t b = f.find_first_not_of(" \t\r"), e = f.find_last_not_of(" \t\r");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return fields;
}

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(const std::string& s, Bytes& out) {
  if (s.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

bool parse_spi(const std::string& s, uint64_t& out) {
  Bytes b;
  if (s.size() != 16 || !parse_hex(s, b)) return false;
  out = 0;
  for (uint8_t x : b) out = out << 8 | x;
  return true;
}

bool parse_algorithm(const std::string& encr, const std::string& integ,
                     ike::crypto::SkAlgorithm& alg) {
  std::smatch m;
  if (std::regex_search(encr, m, std::regex(R"(AES-CBC-(128|192|256))"))) {
    alg.encr = ike::EncrId::AES_CBC;
    alg.key_bits = static_cast<uint16_t>(std::stoi(m[1]));
  } else if (std::regex_search(encr, m, std::regex(R"(AES-GCM-(128|192|256) with 16 octet ICV)"))) {
    alg.encr = ike::EncrId::AES_GCM_16;
    alg.key_bits = static_cast<uint16_t>(std::stoi(m[1]));
  } else if (encr.find("CHACHA20-POLY1305") != std::string::npos) {
    alg.encr = ike::EncrId::CHACHA20_POLY1305;
    alg.key_bits = 256;
  } else {
    return false;
  }
  if (integ.find("HMAC_SHA2_256_128") != std::string::npos)
    alg.integ = ike::IntegId::HMAC_SHA2_256_128;
  else if (integ.find("HMAC_SHA2_384_192") != std::string::npos)
    alg.integ = ike::IntegId::HMAC_SHA2_384_192;
  else if (integ.find("HMAC_SHA2_512_256") != std::string::npos)
    alg.integ = ike::IntegId::HMAC_SHA2_512_256;
  else if (integ.empty() || integ.rfind("NONE", 0) == 0)
    alg.integ = ike::IntegId::NONE;
  else
    return false;
  return true;
}

}  // namespace

Result<KeyTable, std::string> load_ike_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Unexpected{path + ": cannot open"};
  KeyTable table;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto where = [&](const std::string& what) {
      return Unexpected{path + ":" + std::to_string(n) + ": " + what};
    };
    if (line.find_first_not_of(" \t\r") == std::string::npos ||
        line[line.find_first_not_of(" \t")] == '#')
      continue;
    auto f = split_csv(line);
    if (f.size() != 8)
      return where("expected 8 comma-separated fields, found " + std::to_string(f.size()));
    uint64_t spi_i = 0, spi_r = 0;
    if (!parse_spi(f[0], spi_i)) return where("SPIi is not 16 hex digits");
    if (!parse_spi(f[1], spi_r)) return where("SPIr is not 16 hex digits");
    Bytes ei, er, ai, ar;
    if (!parse_hex(f[2], ei)) return where("SK_ei is not hex");
    if (!parse_hex(f[3], er)) return where("SK_er is not hex");
    if (!parse_hex(f[5], ai)) return where("SK_ai is not hex");
    if (!parse_hex(f[6], ar)) return where("SK_ar is not hex");
    ike::crypto::SkAlgorithm alg;
    if (!parse_algorithm(f[4], f[7], alg))
      return where("unsupported algorithms \"" + f[4] + "\" / \"" + f[7] + "\"");
    auto ci = ike::crypto::make_sk_cipher(alg, ei, ai);
    if (!ci) return where(ci.error().detail);
    auto cr = ike::crypto::make_sk_cipher(alg, er, ar);
    if (!cr) return where(cr.error().detail);
    table[{spi_i, spi_r}] = IkeSaKeys{std::move(ci.value()), std::move(cr.value())};
  }
  return table;
}

}  // namespace ikeme::ctl
