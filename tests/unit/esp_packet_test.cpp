// RFC 4303 ESP header and trailer handling.
#include <catch2/catch.hpp>

#include <vector>

#include "esp-kernel/esp_packet.hpp"

using namespace ikeme::esp;
using ikeme::Bytes;
using ikeme::ByteView;
using ikeme::ByteWriter;

TEST_CASE("esp: the header splits into SPI, sequence number and the rest", "[esp]") {
  const Bytes pkt = {0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  auto h = parse_esp_header(pkt);
  REQUIRE(h.ok());
  CHECK(h->spi == 0x12345678u);
  CHECK(h->sequence == 0x102u);
  REQUIRE(h->rest.size() == 5);
  CHECK(h->rest.data() == pkt.data() + 8);  // a view, not a copy
  CHECK(h->rest[4] == 0xee);
}

TEST_CASE("esp: write_esp_header is the inverse of parse_esp_header", "[esp]") {
  Bytes out;
  ByteWriter w(out);
  write_esp_header(w, 0xc0ffee01u, 0xfffffffeu);
  CHECK(out == Bytes{0xc0, 0xff, 0xee, 0x01, 0xff, 0xff, 0xff, 0xfe});
  out.insert(out.end(), {1, 2, 3, 4});
  auto h = parse_esp_header(out);
  REQUIRE(h.ok());
  CHECK(h->spi == 0xc0ffee01u);
  CHECK(h->sequence == 0xfffffffeu);
  CHECK(h->rest.size() == 4);
}

TEST_CASE("esp: short packets and reserved SPIs are refused", "[esp]") {
  Bytes pkt = {0x00, 0x00, 0x01, 0x00, 0, 0, 0, 0, 1, 2, 3, 4};
  SECTION("12 bytes with SPI 256 and sequence 0 are fine") {
    auto h = parse_esp_header(pkt);
    REQUIRE(h.ok());
    CHECK(h->spi == 256u);
    CHECK(h->sequence == 0u);
  }
  SECTION("11 bytes are too short") {
    auto h = parse_esp_header(ByteView(pkt).first(11));
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().kind == EspErrorKind::TooShort);
    CHECK(h.error().to_string() == "TooShort: ESP packet of 11 bytes, at least 12 bytes needed");
  }
  SECTION("an empty datagram is too short") {
    auto h = parse_esp_header(ByteView());
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().kind == EspErrorKind::TooShort);
  }
  SECTION("SPI 0 is the non-ESP marker's value") {
    pkt[2] = 0;
    auto h = parse_esp_header(pkt);
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().kind == EspErrorKind::ReservedSpi);
    CHECK(h.error().detail ==
          "SPI 0 is reserved for local use (on UDP port 4500 it is the non-ESP marker)");
  }
  SECTION("SPIs 1..255 are reserved by IANA") {
    for (uint8_t spi : {1, 42, 255}) {
      pkt[2] = 0;
      pkt[3] = spi;
      auto h = parse_esp_header(pkt);
      REQUIRE_FALSE(h.ok());
      CHECK(h.error().kind == EspErrorKind::ReservedSpi);
    }
    CHECK(parse_esp_header(pkt).error().to_string() ==
          "ReservedSpi: SPI 0x000000ff is in the IANA-reserved range 1..255");
  }
}

TEST_CASE("esp: build_esp_plaintext pads with 1, 2, 3, ... to the alignment", "[esp]") {
  const Bytes inner = {0x45, 0x00, 0x00};
  SECTION("AES-CBC: 16-byte blocks") {
    auto p = build_esp_plaintext(inner, kNextHeaderIpv4, 16);
    REQUIRE(p.ok());
    CHECK(*p == Bytes{0x45, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 4});
  }
  SECTION("counter modes (block size 1) still align to 4 bytes") {
    auto p = build_esp_plaintext(inner, kNextHeaderIpv6, 1);
    REQUIRE(p.ok());
    CHECK(*p == Bytes{0x45, 0x00, 0x00, 1, 2, 3, 3, 41});
  }
  SECTION("no padding needed") {
    auto p = build_esp_plaintext(Bytes{0xaa, 0xbb}, kNextHeaderIpv4, 4);
    REQUIRE(p.ok());
    CHECK(*p == Bytes{0xaa, 0xbb, 0, 4});
  }
  SECTION("a dummy packet") {
    auto p = build_esp_plaintext({}, kNextHeaderDummy, 8);
    REQUIRE(p.ok());
    CHECK(*p == Bytes{1, 2, 3, 4, 5, 6, 6, 59});
  }
  SECTION("block size 256 needs up to 254 bytes of padding, which still fits") {
    auto p = build_esp_plaintext({}, kNextHeaderIpv4, 256);
    REQUIRE(p.ok());
    REQUIRE(p->size() == 256);
    CHECK((*p)[253] == 254);
    CHECK((*p)[254] == 254);
  }
  SECTION("block sizes that are not powers of two in 1..256 are refused") {
    for (size_t bs : {0, 3, 12, 512}) {
      auto p = build_esp_plaintext(inner, kNextHeaderIpv4, bs);
      REQUIRE_FALSE(p.ok());
      CHECK(p.error().kind == EspErrorKind::BadBlockSize);
    }
    CHECK(build_esp_plaintext(inner, 4, 12).error().detail ==
          "block size 12 is not a power of two in 1..256");
  }
}

TEST_CASE("esp: esp_padding_length", "[esp]") {
  CHECK(esp_padding_length(0, 4) == 2);
  CHECK(esp_padding_length(1, 4) == 1);
  CHECK(esp_padding_length(2, 4) == 0);
  CHECK(esp_padding_length(3, 4) == 3);
  CHECK(esp_padding_length(14, 16) == 0);
  CHECK(esp_padding_length(15, 16) == 15);
  CHECK(esp_padding_length(1400, 16) == 6);  // 1400 + 2 = 1402, next multiple of 16 is 1408
}

TEST_CASE("esp: build and strip round-trip for every length and alignment", "[esp]") {
  for (size_t block : {1, 4, 8, 16, 32}) {
    const size_t alignment = block < 4 ? 4 : block;
    for (size_t n = 0; n <= 70; ++n) {
      Bytes inner(n);
      for (size_t i = 0; i < n; ++i) inner[i] = static_cast<uint8_t>(0xa0 + i);
      auto built = build_esp_plaintext(inner, kNextHeaderIpv4, block);
      REQUIRE(built.ok());
      CHECK(built->size() % alignment == 0);
      CHECK(built->size() - n - 2 < alignment);
      auto stripped = strip_esp_trailer(*built);
      REQUIRE(stripped.ok());
      CHECK(Bytes(stripped->inner.begin(), stripped->inner.end()) == inner);
      CHECK(stripped->next_header == kNextHeaderIpv4);
      CHECK(stripped->pad_length == built->size() - n - 2);
      CHECK_FALSE(stripped->is_dummy());
    }
  }
}

TEST_CASE("esp: strip_esp_trailer validates the trailer", "[esp]") {
  SECTION("a dummy packet is reported as such") {
    auto p = strip_esp_trailer(Bytes{0xde, 0xad, 1, 2, 2, 59});
    REQUIRE(p.ok());
    CHECK(p->is_dummy());
    CHECK(p->next_header == kNextHeaderDummy);
    CHECK(p->inner.size() == 2);
  }
  SECTION("the inner packet is a view into the decrypted bytes") {
    const Bytes d = {0x60, 0x01, 1, 2, 2, 41};
    auto p = strip_esp_trailer(d);
    REQUIRE(p.ok());
    CHECK(p->inner.data() == d.data());
    CHECK(p->inner.size() == 2);
    CHECK(p->pad_length == 2);
    CHECK(p->next_header == 41);
  }
  SECTION("an empty payload with no padding") {
    auto p = strip_esp_trailer(Bytes{0, 4});
    REQUIRE(p.ok());
    CHECK(p->inner.empty());
  }
  SECTION("the longest padding, 255 bytes") {
    Bytes d;
    for (int i = 1; i <= 255; ++i) d.push_back(static_cast<uint8_t>(i));
    d.push_back(255);
    d.push_back(4);
    auto p = strip_esp_trailer(d);
    REQUIRE(p.ok());
    CHECK(p->inner.empty());
    CHECK(p->pad_length == 255);
  }
  SECTION("fewer than 2 bytes") {
    for (const Bytes& d : {Bytes{}, Bytes{4}}) {
      auto p = strip_esp_trailer(d);
      REQUIRE_FALSE(p.ok());
      CHECK(p.error().kind == EspErrorKind::TooShort);
    }
    CHECK(strip_esp_trailer(Bytes{4}).error().detail ==
          "decrypted payload of 1 byte cannot hold the 2-byte trailer");
  }
  SECTION("a pad length longer than what precedes the trailer") {
    auto p = strip_esp_trailer(Bytes{1, 2, 3, 4});
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().kind == EspErrorKind::BadPadLength);
    CHECK(p.error().to_string() ==
          "BadPadLength: pad length 3 exceeds the 2 bytes before the trailer");
    // Exactly as long as what precedes it is fine: an empty payload.
    CHECK(strip_esp_trailer(Bytes{1, 2, 2, 4}).ok());
  }
  SECTION("padding bytes other than 1, 2, 3, ...") {
    auto p = strip_esp_trailer(Bytes{0x45, 1, 2, 4, 3, 4});
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().kind == EspErrorKind::BadPadding);
    CHECK(p.error().to_string() == "BadPadding: padding byte 3 is 0x04, expected 0x03");
    // Zero padding, a common mistake, is refused at the first byte.
    auto zeros = strip_esp_trailer(Bytes{0x45, 0, 0, 2, 4});
    REQUIRE_FALSE(zeros.ok());
    CHECK(zeros.error().detail == "padding byte 1 is 0x00, expected 0x01");
  }
}
