#!/usr/bin/env python3
"""An independent reader of EvalVault batch files, written from docs/batch-format.md alone.

It shares no code with the Swift implementation: HPKE (RFC 9180 base mode, DHKEM(X25519,
HKDF-SHA256), HKDF-SHA256, export) is composed by hand from HMAC-SHA256; X25519, Ed25519 and
AES-256-GCM come from the `cryptography` package (Debian: python3-cryptography). It opens the
known-answer vectors in Tests/Vectors/batch/ and checks every record, the digest, the exporter
secret and the evaluator's signature against the vector's JSON.

    python3 Tests/tools/read_batch.py Tests/Vectors/batch/small Tests/Vectors/batch/large
"""
import hashlib, hmac, json, struct, sys
from fractions import Fraction as F
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

def H(x): return hashlib.sha256(x).digest()
def extract(salt, ikm): return hmac.new(salt or b'\0'*32, ikm, hashlib.sha256).digest()
def expand(prk, info, L):
    out, t, i = b'', b'', 1
    while len(out) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:L]
KEM = b'KEM' + b'\x00\x20'
SUITE = b'HPKE' + b'\x00\x20\x00\x01\x00\x02'
def lext(suite, salt, label, ikm): return extract(salt, b'HPKE-v1' + suite + label + ikm)
def lexp(suite, prk, label, info, L): return expand(prk, struct.pack('>H', L) + b'HPKE-v1' + suite + label + info, L)

def u16(b, i): return struct.unpack('>H', b[i:i+2])[0]

def read(b, vault, round_id, skR, teams, steps, evkeys):
    assert len(b) >= 10 and b[:7] == b'evbatch' and b[7] == 2
    L = u16(b, 8); assert L <= 1024 and len(b) >= 10 + L
    at, fields = 10, []
    for k in range(7):
        n = u16(b, at); assert at + 2 + n <= 10 + L; fields.append(b[at+2:at+2+n]); at += 2 + n
    assert at == 10 + L
    v, r, rk, bid, ev, t, enc = fields
    for x in (v, r, ev): assert 1 <= len(x) <= 128 and all(0x21 <= c <= 0x7e for c in x)
    assert (len(rk), len(bid), len(t), len(enc)) == (32, 16, 8, 32)
    pkR = skR.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert v == vault.encode() and r == round_id.encode() and rk == pkR
    header = b[:10+L]
    count = struct.unpack('>Q', b[-72:-64])[0]; sig = b[-64:]
    assert 1 <= count <= 100_000_000
    P = len(b) - (10 + L) - 72; assert P >= 17
    N = -(-P // 65552); last = P - (N - 1) * 65552; assert last >= 17
    info = b'evalvault/batch/v2\x00' + struct.pack('>H', len(v)) + v + struct.pack('>H', len(r)) + r
    dh = skR.exchange(X25519PublicKey.from_public_bytes(enc))
    shared = lexp(KEM, lext(KEM, b'', b'eae_prk', dh), b'shared_secret', enc + pkR, 32)
    ctx = b'\x00' + lext(SUITE, b'', b'psk_id_hash', b'') + lext(SUITE, b'', b'info_hash', info)
    secret = lext(SUITE, shared, b'secret', b'')
    exporter = lexp(SUITE, secret, b'exp', ctx, 32)
    K = lexp(SUITE, exporter, b'sec', b'evalvault/batch-payload/v2\x00' + H(header), 32)
    aead = AESGCM(K); plain = b''; hashes = b''
    for i in range(N):
        ct = b[10+L+i*65552: 10+L+min(P, (i+1)*65552)]
        nonce = i.to_bytes(11, 'big') + (b'\x01' if i == N - 1 else b'\x00')
        plain += aead.decrypt(nonce, ct, b''); hashes += H(ct)
    recs, seen, k = [], set(), 0
    while k < len(plain):
        tm, c, m, u = struct.unpack('>IHHQ', plain[k:k+16]); assert k + 16 <= len(plain)
        assert tm < teams and c < len(steps) and m <= 1000 and u <= steps[c] and (tm, c) not in seen
        seen.add((tm, c)); pad = (16 - m % 16) % 16
        com = plain[k+16:k+16+m]; assert plain[k+16+m:k+16+m+pad] == b'\0' * pad and k + 16 + m + pad <= len(plain)
        recs.append((tm, c, u, com)); k += 16 + m + pad
    assert len(recs) == count
    D = H(b'evalvault/batch-digest/v2\x00' + header + hashes + struct.pack('>Q', count))
    evkeys[ev.decode()].verify(sig, D)
    return recs, D, exporter

for name in sys.argv[1:]:
    import os
    j = json.load(open(f'{name}.json')); b = open(os.path.join(os.path.dirname(name), j['file']), 'rb').read()
    skR = X25519PrivateKey.from_private_bytes(bytes.fromhex(j['round_private_key']))
    crit = j['criteria']; steps = [int((F(c['max']) - F(c['min'])) / F(c['step'])) for c in crit]
    evk = {j['evaluator']: Ed25519PublicKey.from_public_bytes(bytes.fromhex(j['evaluator_public_key']))}
    recs, D, exp = read(b, j['vault'], j['round'], skR, len(j['teams']), steps, evk)
    want = []
    for t, c, s, m in j['records']:
        ci = [x['id'] for x in crit].index(c); cc = crit[ci]
        want.append((j['teams'].index(t), ci, int((F(s) - F(cc['min'])) / F(cc['step'])), (m or '').encode()))
    assert recs == want, name
    assert D.hex() == j['expected']['digest'] and exp.hex() == j['expected']['exporter_secret']
    print(name, 'ok:', len(recs), 'records, digest', D.hex()[:16])
