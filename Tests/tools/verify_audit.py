#!/usr/bin/env python3
"""An independent verifier for EvalVault audit exports, written from docs/audit-format.md alone.

Standard library only: JSON, SHA-256, base64, and the Ed25519 verification of RFC 8032 §6
(the reference arithmetic, slow but short). It shares no code with EvalVault, so when both
accept the same export and reject the same tampered ones, the format document is exact.

Usage: verify_audit.py EXPORT.jsonl   → prints "ok N ROOT" and exits 0, or "bad: …" and exits 1.
"""
import base64, hashlib, json, sys

# --- Ed25519 verification (RFC 8032 §6) -------------------------------------------------------
p = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
d = -121665 * pow(121666, p - 2, p) % p
modp_sqrt_m1 = pow(2, (p - 1) // 4, p)

def point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % p, (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C, D = 2 * P[3] * Q[3] * d % p, 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)

def point_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1: Q = point_add(Q, P)
        P = point_add(P, P); s >>= 1
    return Q

def point_equal(P, Q):
    return (P[0] * Q[2] - Q[0] * P[2]) % p == 0 and (P[1] * Q[2] - Q[1] * P[2]) % p == 0

def recover_x(y, sign):
    if y >= p: return None
    x2 = (y * y - 1) * pow(d * y * y + 1, p - 2, p)
    if x2 == 0: return None if sign else 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0: x = x * modp_sqrt_m1 % p
    if (x * x - x2) % p != 0: return None
    if (x & 1) != sign: x = p - x
    return x

g_y = 4 * pow(5, p - 2, p) % p
g_x = recover_x(g_y, 0)
G = (g_x, g_y, 1, g_x * g_y % p)

def point_decompress(s):
    if len(s) != 32: return None
    y = int.from_bytes(s, "little"); sign = y >> 255; y &= (1 << 255) - 1
    x = recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % p)

def ed25519_verify(public, msg, sig):
    if len(public) != 32 or len(sig) != 64: return False
    A = point_decompress(public); Rs = sig[:32]; R = point_decompress(Rs)
    if A is None or R is None: return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L: return False
    h = int.from_bytes(hashlib.sha512(Rs + public + msg).digest(), "little") % L
    return point_equal(point_mul(s, G), point_add(R, point_mul(h, A)))

# --- The format -----------------------------------------------------------------------------
def canonical(v):
    """RFC 8785 for the values the format allows (no floats)."""
    if v is None: return "null"
    if v is True: return "true"
    if v is False: return "false"
    if isinstance(v, int): return str(v)
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            o = ord(ch)
            if ch == '"': out.append('\\"')
            elif ch == '\\': out.append('\\\\')
            elif ch == '\b': out.append('\\b')
            elif ch == '\f': out.append('\\f')
            elif ch == '\n': out.append('\\n')
            elif ch == '\r': out.append('\\r')
            elif ch == '\t': out.append('\\t')
            elif o < 0x20: out.append('\\u%04x' % o)
            else: out.append(ch)
        return ''.join(out) + '"'
    if isinstance(v, list): return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(canonical(k) + ":" + canonical(v[k]) for k in keys) + "}"
    raise ValueError("not allowed in the format: %r" % (v,))

def sha(b): return hashlib.sha256(b).digest()
def node(l, r): return sha(b"\x01" + l + r)
def root_of(leaves):
    if not leaves: return sha(b"")
    if len(leaves) == 1: return leaves[0]
    k = 1
    while k * 2 < len(leaves): k *= 2
    return node(root_of(leaves[:k]), root_of(leaves[k:]))
class Frontier:
    """The right edge of the tree: the root of the first n leaves without keeping them all."""
    def __init__(self): self.levels = {}
    def append(self, leaf):
        carry, level = leaf, 0
        while level in self.levels:
            carry = node(self.levels.pop(level), carry); level += 1
        self.levels[level] = carry
    def root(self):
        acc = None
        for level in sorted(self.levels):
            acc = self.levels[level] if acc is None else node(self.levels[level], acc)
        return sha(b"") if acc is None else acc

def b64(s): 
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode() != s: raise ValueError("non-canonical base64")
    return raw

class Bad(Exception): pass

def no_dupes(pairs):
    out = {}
    for k, v in pairs:
        if k in out: raise ValueError("duplicate member")
        out[k] = v
    return out

def verify(data):
    if not data.endswith(b"\n"): raise Bad("file does not end with a newline")
    lines = data[:-1].split(b"\n")
    values = []
    for i, line in enumerate(lines, 1):
        try:
            v = json.loads(line.decode("utf-8"), object_pairs_hook=no_dupes,
                           parse_float=lambda s: (_ for _ in ()).throw(ValueError("float")))
        except Exception as e: raise Bad("line %d: not valid JSON (%s)" % (i, e))
        if canonical(v).encode("utf-8") != line: raise Bad("line %d: not canonical" % i)
        values.append(v)
    header, entries, last = values[0], values[1:-1], values[-1]
    if not isinstance(header, dict) or set(header) != {"format", "signers", "vault"} or header["format"] != "evalvault-audit/1":
        raise Bad("line 1: bad header")
    signers = {k: b64(v) for k, v in header["signers"].items()}
    enrolled, chair, leaves, frontier = {}, None, [], Frontier()
    fields = {"seq", "time", "actor", "authenticated", "action", "target", "decision", "policies", "policy_sha256", "outcome", "details"}
    for n, wrapper in enumerate(entries):
        ln = n + 2
        if not isinstance(wrapper, dict) or set(wrapper) != {"entry", "sig"}: raise Bad("line %d: bad entry line" % ln)
        e = wrapper["entry"]
        if not isinstance(e, dict) or set(e) != fields or e["seq"] != n or isinstance(e["seq"], bool):
            raise Bad("line %d: bad entry or seq" % ln)
        leaf = sha(b"\x00" + canonical(e).encode("utf-8"))
        en = e["details"].get("enrolled") if isinstance(e["details"], dict) else None
        if en is not None:
            if set(en) != {"ed25519", "id", "role", "x25519"} or en["id"] in enrolled: raise Bad("line %d: bad enrolment" % ln)
            enrolled[en["id"]] = b64(en["ed25519"])
            if e["action"] == "vault.init":
                if n != 0 or en["role"] != "chair": raise Bad("line %d: bad vault.init" % ln)
                chair = en["id"]
        elif n == 0: raise Bad("line 2: entry 0 is not vault.init")
        if e["authenticated"] is True:
            actor = e["actor"]
            if actor not in enrolled or signers.get(actor) != enrolled[actor]: raise Bad("line %d: signer not enrolled" % ln)
            # The signed message is the leaf hash and the root of the log before this entry.
            if not isinstance(wrapper["sig"], str) or not ed25519_verify(signers[actor], leaf + frontier.root(), b64(wrapper["sig"])):
                raise Bad("line %d: signature does not verify" % ln)
        elif e["authenticated"] is False:
            if wrapper["sig"] is not None: raise Bad("line %d: unauthenticated entry with a signature" % ln)
        else: raise Bad("line %d: authenticated is not a bool" % ln)
        leaves.append(leaf)
        frontier.append(leaf)
    if signers != enrolled: raise Bad("line 1: signers differ from the enrolled keys")
    if not isinstance(last, dict) or set(last) != {"checkpoint"}: raise Bad("line %d: no checkpoint" % len(lines))
    note = last["checkpoint"]
    body, sep, sigs = note.partition("\n\n")
    body += "\n"
    origin, size, root = body[:-1].split("\n")
    if origin != "evalvault/" + header["vault"] or size != str(len(leaves)) or b64(root) != root_of(leaves):
        raise Bad("line %d: checkpoint does not match the entries" % len(lines))
    key = signers[chair]
    keyid = sha(chair.encode() + b"\n\x01" + key)[:4]
    for s in sigs.rstrip("\n").split("\n"):
        dash, name, blob = s.split(" ")
        raw = b64(blob)
        if dash == "\u2014" and name == chair and raw[:4] == keyid and ed25519_verify(key, body.encode(), raw[4:]):
            return len(leaves), root
    raise Bad("line %d: checkpoint not signed by the chair" % len(lines))

if __name__ == "__main__":
    try:
        size, root = verify(open(sys.argv[1], "rb").read())
        print("ok", size, root)
    except (Bad, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        print("bad:", e); sys.exit(1)
