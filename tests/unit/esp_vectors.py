#!/usr/bin/python3
"""Generates the ESP known-answer packets of tests/unit/esp_sa_test.cpp with an implementation
independent of mbedTLS (python3-cryptography, i.e. OpenSSL), following RFC 4303 (layout,
padding 1,2,3..), RFC 4106 (AES-GCM: nonce = salt | IV, AAD = SPI | seq or SPI | seq_hi |
seq_lo), RFC 7634 (ChaCha20-Poly1305, same layout) and RFC 3602/4868 (AES-CBC, HMAC-SHA2-256
truncated to 128 bits over SPI | seq | IV | ciphertext [| seq_hi]).
Run it to print the vectors; the test hard-codes its output."""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305


def trailer(payload: bytes, nh: int, align: int) -> bytes:
    pad = (-(len(payload) + 2)) % align
    return payload + bytes(range(1, pad + 1)) + bytes([pad, nh])


def aead(cls, key, salt, spi, seq, esn, payload, nh):
    iv = struct.pack("!Q", seq)  # the sender's IV: the 64-bit sequence number
    aad = struct.pack("!II", spi, seq & 0xFFFFFFFF) if not esn else struct.pack(
        "!III", spi, seq >> 32, seq & 0xFFFFFFFF)
    sealed = cls(key).encrypt(salt + iv, trailer(payload, nh, 4), aad)
    return struct.pack("!II", spi, seq & 0xFFFFFFFF) + iv + sealed


def cbc(key, integ, iv, spi, seq, esn, payload, nh):
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(trailer(payload, nh, 16)) + enc.finalize()
    head = struct.pack("!II", spi, seq & 0xFFFFFFFF) + iv + ct
    mac = hmac.new(integ, head + (struct.pack("!I", seq >> 32) if esn else b""),
                   hashlib.sha256).digest()[:16]
    return head + mac


# A small IPv4 packet (ICMP echo 10.1.0.10 -> 10.2.0.10) as the tunnelled payload.
inner = bytes.fromhex("4500001c0001000040015f7a0a01000a0a02000a0800f7ff00000000")
key16 = bytes(range(0x00, 0x10))
salt = bytes.fromhex("cafebabe")
key32 = bytes(range(0x20, 0x40))
print("gcm128 seq1", aead(AESGCM, key16, salt, 0x11223344, 1, False, inner, 4).hex())
print("chacha esn 0x100000005", aead(ChaCha20Poly1305, key32, salt, 0x55667788, 0x100000005, True,
                                     inner, 4).hex())
print("gcm256 seq7", aead(AESGCM, key32, salt, 0x0a0b0c0d, 7, False, inner, 4).hex())
integ = bytes(range(0x40, 0x60))
iv = bytes(range(0x70, 0x80))
print("cbc128-sha256 seq1", cbc(key16, integ, iv, 0x01020304, 1, False, inner, 4).hex())
