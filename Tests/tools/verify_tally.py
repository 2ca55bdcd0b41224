#!/usr/bin/env python3
"""An independent verifier for EvalVault tally records, written from docs/tally-format.md alone.

Standard library only: JSON, SHA-256, exact fractions, and NIST P-256 arithmetic on Python
integers (Jacobian coordinates, fixed-base window tables for G, H and the joint key, width-5 NAF
for every other point). It shares no code with EvalVault, so when both accept the same record
and reject the same tampered ones, the format document is exact.

It reads one tally record (JSON) and checks everything "What a verifier checks" lists: the
ceremony's proofs and the joint key, every score's ciphertext and its 2k + 2 proof equations,
every cell's sums, partial decryptions (Chaum-Pedersen) and Lagrange-combined total, and the
results recomputed with exact rational arithmetic.

Usage: verify_tally.py RECORD.json
  → prints "tally record verified: …" and exits 0; or prints one sentence naming the first
    failing check on stderr and exits 1; exits 2 on a usage error or a file that is not JSON.
"""
import hashlib, json, re, sys
from fractions import Fraction

FORMAT = "evalvault tally record v1"

# --- P-256 (SEC 2 secp256r1) ------------------------------------------------------------------
p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
     0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)
INF = (1, 1, 0)   # Jacobian (X, Y, Z) with Z = 0 is the identity O; affine points are (x, y)

def on_curve(x, y): return (y * y - (x * x * x - 3 * x + b)) % p == 0
def jac(P): return (P[0], P[1], 1)

def dbl(P):
    X1, Y1, Z1 = P
    if Z1 == 0 or Y1 == 0: return INF
    delta = Z1 * Z1 % p; gamma = Y1 * Y1 % p; beta = X1 * gamma % p
    alpha = 3 * (X1 - delta) * (X1 + delta) % p
    X3 = (alpha * alpha - 8 * beta) % p
    Z3 = ((Y1 + Z1) * (Y1 + Z1) - gamma - delta) % p
    Y3 = (alpha * (4 * beta - X3) - 8 * gamma * gamma) % p
    return (X3, Y3, Z3)

def add(P, Q):
    """P + Q, both Jacobian."""
    if P[2] == 0: return Q
    if Q[2] == 0: return P
    X1, Y1, Z1 = P; X2, Y2, Z2 = Q
    Z1Z1 = Z1 * Z1 % p; Z2Z2 = Z2 * Z2 % p
    U1 = X1 * Z2Z2 % p; U2 = X2 * Z1Z1 % p
    S1 = Y1 * Z2 * Z2Z2 % p; S2 = Y2 * Z1 * Z1Z1 % p
    H = (U2 - U1) % p; R = (S2 - S1) % p
    if H == 0: return dbl(P) if R == 0 else INF
    HH = H * H % p; HHH = H * HH % p; V = U1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return (X3, (R * (V - X3) - S1 * HHH) % p, Z1 * Z2 * H % p)

def madd(P, q):
    """P + q, P Jacobian, q affine."""
    X1, Y1, Z1 = P
    if Z1 == 0: return (q[0], q[1], 1)
    Z1Z1 = Z1 * Z1 % p
    H = (q[0] * Z1Z1 - X1) % p; R = (q[1] * Z1 * Z1Z1 - Y1) % p
    if H == 0: return dbl(P) if R == 0 else INF
    HH = H * H % p; HHH = H * HH % p; V = X1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return (X3, (R * (V - X3) - Y1 * HHH) % p, Z1 * H % p)

def neg(P): return (P[0], (-P[1]) % p, P[2])

def equal(P, Q):
    if P[2] == 0 or Q[2] == 0: return P[2] == 0 and Q[2] == 0
    Z1Z1 = P[2] * P[2] % p; Z2Z2 = Q[2] * Q[2] % p
    return ((P[0] * Z2Z2 - Q[0] * Z1Z1) % p == 0 and
            (P[1] * Z2Z2 * Q[2] - Q[1] * Z1Z1 * P[2]) % p == 0)

def affine_all(points):
    """Jacobian points (none the identity) to affine with one inversion (Montgomery's trick)."""
    prefix, acc = [], 1
    for P in points: prefix.append(acc); acc = acc * P[2] % p
    inv = pow(acc, -1, p)
    out = [None] * len(points)
    for i in range(len(points) - 1, -1, -1):
        X, Y, Z = points[i]
        zi = inv * prefix[i] % p; inv = inv * Z % p
        zi2 = zi * zi % p
        out[i] = (X * zi2 % p, Y * zi2 * zi % p)
    return out

def affine(P):
    return None if P[2] == 0 else affine_all([P])[0]

class Var:
    """A point with its odd multiples 1P … 15P, for width-5 NAF multiplication."""
    def __init__(self, P):
        self.zero = P[2] == 0
        if self.zero: return
        P2, tbl = dbl(P), [P]
        for _ in range(7): tbl.append(add(tbl[-1], P2))
        self.pos = affine_all(tbl)
        self.neg = [(x, p - y) for x, y in self.pos]
    def mul(self, k):
        k %= n
        if self.zero or k == 0: return INF
        digits = []
        while k:
            if k & 1:
                d = k & 31
                if d >= 16: d -= 32
                k -= d
            else: d = 0
            digits.append(d); k >>= 1
        R = INF
        for d in reversed(digits):
            R = dbl(R)
            if d > 0: R = madd(R, self.pos[d >> 1])
            elif d < 0: R = madd(R, self.neg[(-d) >> 1])
        return R

def mul(P, k): return Var(P).mul(k)

class Fixed:
    """A point used in many multiplications: all d·2^(6j)·P for d < 64, so k·P is 43 additions."""
    W = 6
    def __init__(self, P):
        rows, base = [], P
        for _ in range((256 + self.W - 1) // self.W):
            row = [base]
            for _ in range((1 << self.W) - 2): row.append(add(row[-1], base))
            rows.append(row)
            base = add(row[-1], base)
        flat = affine_all([Q for row in rows for Q in row])
        w = (1 << self.W) - 1
        self.rows = [flat[i * w:(i + 1) * w] for i in range(len(rows))]
    def mul(self, k):
        k %= n
        R, j, mask = INF, 0, (1 << self.W) - 1
        while k:
            d = k & mask
            if d: R = madd(R, self.rows[j][d - 1])
            k >>= self.W; j += 1
        return R

# --- Hashing and encodings --------------------------------------------------------------------
def sha(b_): return hashlib.sha256(b_).digest()
def u16(v): return v.to_bytes(2, "big")
def u32(v): return v.to_bytes(4, "big")

class Invalid(Exception): pass
def fail(msg): raise Invalid(msg)

def lp(s):
    if isinstance(s, str):
        try: s = s.encode("utf-8")
        except UnicodeEncodeError: fail("a string is not valid Unicode (a lone surrogate)")
    if len(s) > 0xffff: fail("a string is longer than 65535 bytes")
    return u16(len(s)) + s

def hash_to_scalar(label, data):
    d = sha(lp(label) + data)
    return int.from_bytes(sha(d + b"\x01") + sha(d + b"\x02"), "big") % n

def enc(P, what):
    """The 65-byte encoding of a Jacobian or affine point; the identity has none."""
    if len(P) == 3:
        if P[2] == 0: fail(what + " is the identity, which has no encoding")
        P = affine(P)
    return b"\x04" + P[0].to_bytes(32, "big") + P[1].to_bytes(32, "big")

def derive_H():
    counter = 0
    while True:
        x = int.from_bytes(sha(b"evalvault/v2 tally H" + u32(counter)), "big")
        if x < p:
            rhs = (x * x * x - 3 * x + b) % p
            y = pow(rhs, (p + 1) // 4, p)          # p ≡ 3 (mod 4)
            if y * y % p == rhs:
                return (x, y if y % 2 == 0 else p - y)
        counter += 1

def decode_point(raw, what):
    if len(raw) != 65: fail(what + " is not a point: not 65 bytes")
    if raw[0] != 4: fail(what + " is not a point: it does not start with 04")
    x = int.from_bytes(raw[1:33], "big"); y = int.from_bytes(raw[33:], "big")
    if x >= p or y >= p: fail(what + " is not a point: a coordinate is not below p")
    if not on_curve(x, y): fail(what + " is not a point: it is not on the curve")
    return (x, y)

def decode_scalar(raw, what):
    if len(raw) != 32: fail(what + " is not a scalar: not 32 bytes")
    v = int.from_bytes(raw, "big")
    if v >= n: fail(what + " is not a scalar: it is not below n")
    return v

HEX = re.compile(r"[0-9a-f]*\Z")
def hexbytes(v, what):
    if not isinstance(v, str) or len(v) % 2 or not HEX.match(v):
        fail(what + " is not lower-case hex")
    return bytes.fromhex(v)

def point_field(v, what): return decode_point(hexbytes(v, what), what)
def scalar_field(v, what): return decode_scalar(hexbytes(v, what), what)

# --- JSON shape -------------------------------------------------------------------------------
def obj(v, what):
    if not isinstance(v, dict): fail(what + " is not an object")
    return v

def get(o, key, typ, what):
    if key not in o: fail("%s has no %s" % (what, key))
    v = o[key]
    ok = (type(v) is int) if typ is int else isinstance(v, typ)
    if not ok: fail("%s: %s is not %s" % (what, key, {int: "an integer", str: "a string",
               list: "a list", dict: "an object", bool: "a boolean"}[typ]))
    return v

DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
def decimal(v, what):
    if not isinstance(v, str) or not DECIMAL.match(v): fail(what + " is not a decimal string")
    return Fraction(v)

def weights_of(M):
    k = M.bit_length()
    return [1 << i for i in range(k - 1)] + [M - ((1 << (k - 1)) - 1)]

def fmt(x, precision):
    """x rounded half-even to `precision` decimals; '-' only when the rounded value is not zero."""
    q = round(x * 10 ** precision)          # Fraction.__round__ rounds half to even
    sign, digits = ("-" if q < 0 else ""), str(abs(q))
    if precision == 0: return sign + digits
    digits = digits.rjust(precision + 1, "0")
    return sign + digits[:-precision] + "." + digits[-precision:]

def lagrange(indices):
    out = {}
    for i in indices:
        lam = 1
        for j in indices:
            if j != i: lam = lam * j * pow(j - i, -1, n) % n
        out[i] = lam
    return out

# --- The record -------------------------------------------------------------------------------
def verify(rec):
    obj(rec, "the record")
    form = get(rec, "format", str, "the record")
    if form != FORMAT: fail('format: "%s" is not "%s"' % (form, FORMAT))
    vault = get(rec, "vault", str, "the record")
    round_id = get(rec, "round", str, "the record")
    root = hexbytes(get(rec, "manifest_root", str, "the record"), "manifest_root")
    if len(root) != 32: fail("manifest_root is not 32 bytes")
    holders = get(rec, "holders", list, "the record")
    if not holders or not all(isinstance(h, str) for h in holders) or len(set(holders)) != len(holders):
        fail("holders is not a non-empty list of distinct names")
    N = len(holders); position = {h: i + 1 for i, h in enumerate(holders)}
    T = get(rec, "threshold", int, "the record")
    if not 1 <= T <= N: fail("threshold %d is not between 1 and the %d holders" % (T, N))

    criteria, crit_order = {}, []
    for ci, c in enumerate(get(rec, "criteria", list, "the record")):
        what = "criterion %d" % (ci + 1)
        obj(c, what)
        cid = get(c, "id", str, what); what = "criterion " + cid
        if cid in criteria: fail(what + " is listed twice")
        lo, hi, step = (decimal(get(c, k, str, what), "%s: %s" % (what, k)) for k in ("min", "max", "step"))
        weight = decimal(get(c, "weight", str, what), what + ": weight")
        M = get(c, "max_index", int, what)
        if step <= 0 or (hi - lo) / step != M or M < 1:
            fail("%s: max_index %d is not (max - min) / step, an integer of at least 1" % (what, M))
        criteria[cid] = dict(min=lo, step=step, M=M, weight=weight, w=weights_of(M))
        crit_order.append(cid)
    teams = get(rec, "teams", list, "the record")
    if not all(isinstance(t, str) for t in teams) or len(set(teams)) != len(teams):
        fail("teams is not a list of distinct names")

    # Check 1: H is derived as above; every point decodes; every scalar is below n.
    Hpt = derive_H()
    ceremony = get(rec, "ceremony", list, "the record")
    cer = []
    for ei, e in enumerate(ceremony):
        what = "ceremony entry %d" % (ei + 1)
        obj(e, what)
        h = get(e, "holder", str, what); what = "ceremony entry %d (%s)" % (ei + 1, h)
        idx = get(e, "index", int, what)
        coeffs = [point_field(v, "%s: coefficient %d" % (what, t))
                  for t, v in enumerate(get(e, "coefficients", list, what))]
        proofs = []
        for t, pr in enumerate(get(e, "proofs", list, what)):
            pw = "%s: proof %d" % (what, t)
            obj(pr, pw)
            proofs.append((point_field(get(pr, "r", str, pw), pw + "'s r"),
                           scalar_field(get(pr, "z", str, pw), pw + "'s z")))
        cer.append((h, idx, coeffs, proofs, what))
    joint = point_field(get(rec, "joint_key", str, "the record"), "joint_key")

    scores = []
    for si, s in enumerate(get(rec, "scores", list, "the record")):
        what = "score %d" % (si + 1)
        obj(s, what)
        ev, team, cid = (get(s, k, str, what) for k in ("evaluator", "team", "criterion"))
        what = "score %d (%s, %s, %s)" % (si + 1, ev, team, cid)
        if cid not in criteria: fail(what + ": criterion %s is not in criteria" % cid)
        raw = hexbytes(get(s, "ciphertext", str, what), what + ": ciphertext")
        M = criteria[cid]["M"]; k = M.bit_length()
        if len(raw) != 291 * k + 259:
            fail("%s: the ciphertext is %d bytes, not %d for k = %d" % (what, len(raw), 291 * k + 259, k))
        names = ["X"] + [nm for i in range(k) for nm in ("C%d" % i, "A%d,0" % i, "A%d,1" % i)] + ["T1", "T2"]
        pts = [decode_point(raw[65 * i:65 * i + 65], "%s: ciphertext point %s" % (what, nm))
               for i, nm in enumerate(names)]
        off = 65 * len(names)
        snames = [nm for i in range(k) for nm in ("c%d,0" % i, "v%d,0" % i, "v%d,1" % i)] + ["z_S", "z_m"]
        scs = [decode_scalar(raw[off + 32 * i:off + 32 * i + 32], "%s: ciphertext scalar %s" % (what, nm))
               for i, nm in enumerate(snames)]
        scores.append(dict(ev=ev, team=team, cid=cid, raw=raw, pts=pts, scs=scs, k=k, M=M, what=what))

    cells = []
    for ci, c in enumerate(get(rec, "cells", list, "the record")):
        what = "cell %d" % (ci + 1)
        obj(c, what)
        team, cid = get(c, "team", str, what), get(c, "criterion", str, what)
        what = "cell %s/%s" % (team, cid)
        count, total = get(c, "count", int, what), get(c, "total", int, what)
        x, y = point_field(get(c, "x", str, what), what + ": x"), point_field(get(c, "y", str, what), what + ": y")
        parts = []
        for pi, pa in enumerate(get(c, "partials", list, what)):
            pw = "%s: partial %d" % (what, pi + 1)
            obj(pa, pw)
            h = get(pa, "holder", str, pw); pw = "%s: partial of %s" % (what, h)
            parts.append(dict(holder=h, index=get(pa, "index", int, pw), what=pw,
                              D=point_field(get(pa, "share", str, pw), pw + ": share"),
                              a=point_field(get(pa, "a", str, pw), pw + ": a"),
                              b=point_field(get(pa, "b", str, pw), pw + ": b"),
                              z=scalar_field(get(pa, "z", str, pw), pw + ": z")))
        cells.append(dict(team=team, cid=cid, count=count, total=total, x=x, y=y, parts=parts, what=what))

    # Check 2: the ceremony and the joint key.
    Gf = Fixed(jac(G))
    if len(cer) != N: fail("ceremony has %d entries for %d holders" % (len(cer), N))
    F, seen = {}, set()
    for h, idx, coeffs, proofs, what in cer:
        if h not in position: fail(what + ": %s is not a holder" % h)
        if h in seen: fail(what + ": a second entry for %s" % h)
        seen.add(h)
        if idx != position[h]: fail(what + ": index %d is not its position %d in holders" % (idx, position[h]))
        if len(coeffs) != T or len(proofs) != T:
            fail(what + ": %d coefficients and %d proofs, not the threshold %d" % (len(coeffs), len(proofs), T))
        ctx = sha(b"evalvault/v2 ceremony" + lp(vault) + lp(round_id) + u32(N) +
                  b"".join(lp(x) for x in holders) + u32(T) + u32(idx))
        for t, (Ft, (R, z)) in enumerate(zip(coeffs, proofs)):
            e = hash_to_scalar("evalvault/v2 ceremony coefficient proof",
                               ctx + u32(t) + enc(Ft, "") + enc(R, ""))
            if not equal(Gf.mul(z), madd(mul(jac(Ft), e), R)):
                fail(what + ": the proof of coefficient %d does not hold" % t)
        F[idx] = coeffs
    K = INF
    for j in F: K = madd(K, F[j][0])
    if not equal(K, jac(joint)): fail("joint_key is not the sum of the holders' first coefficients")
    Kenc = enc(joint, "joint_key")
    E = [INF] * T                                   # E_t = Σ_j F_{j,t}
    for j in F:
        for t in range(T): E[t] = madd(E[t], F[j][t])
    key_share = {}
    for i in range(1, N + 1):
        Ki = INF
        for t in range(T): Ki = add(Ki, mul(E[t], pow(i, t, n)))
        key_share[i] = Ki

    # Check 3: every score.
    Hf, Kf = Fixed(jac(Hpt)), Fixed(jac(joint))
    places, cell_scores = set(), {}
    for s in scores:
        what, team, cid, ev = s["what"], s["team"], s["cid"], s["ev"]
        if team not in teams: fail(what + ": team %s is not listed in teams" % team)
        if (ev, team, cid) in places: fail(what + ": a second score by %s for %s on %s" % (ev, team, cid))
        places.add((ev, team, cid))
        k, M, pts, scs, w = s["k"], s["M"], s["pts"], s["scs"], criteria[cid]["w"]
        ctx = sha(b"evalvault/v2 tally score" + lp(vault) + lp(round_id) + Kenc + lp(ev) + lp(team) +
                  lp(cid) + u32(M))
        e = hash_to_scalar("evalvault/v2 tally score proof", ctx + s["raw"][:65 * (3 * k + 3)])
        X, T1, T2 = pts[0], pts[3 * k + 1], pts[3 * k + 2]
        zS, zm = scs[3 * k], scs[3 * k + 1]
        Y = INF
        for i in range(k):
            C, A0, A1 = pts[1 + 3 * i], pts[2 + 3 * i], pts[3 + 3 * i]
            c0, v0, v1 = scs[3 * i], scs[3 * i + 1], scs[3 * i + 2]
            c1 = (e - c0) % n
            Cv = Var(jac(C))
            # v0·K = A0 + c0·C   and   v1·K = A1 + c1·(C − H), i.e. v1·K + c1·H = A1 + c1·C
            if not equal(Kf.mul(v0), madd(Cv.mul(c0), A0)) or \
               not equal(add(Kf.mul(v1), Hf.mul(c1)), madd(Cv.mul(c1), A1)):
                fail("%s: bit %d's proof does not hold" % (what, i))
            Y = add(Y, Cv.mul(w[i]))
        if not equal(Gf.mul(zS), madd(mul(jac(X), e), T1)):
            fail(what + ": the proof of X (z_S·G = T1 + e·X) does not hold")
        if not equal(add(Hf.mul(zm), Kf.mul(zS)), madd(mul(Y, e), T2)):
            fail(what + ": the proof of Y (z_m·H + z_S·K = T2 + e·Y) does not hold")
        s["X"], s["Y"] = X, Y
        cell_scores.setdefault((team, cid), []).append(s)

    # Check 4: every cell.
    done = set()
    for c in cells:
        what, team, cid = c["what"], c["team"], c["cid"]
        if team not in teams: fail(what + ": team %s is not listed in teams" % team)
        if cid not in criteria: fail(what + ": criterion %s is not in criteria" % cid)
        if (team, cid) in done: fail(what + ": the cell is listed twice")
        done.add((team, cid))
        mine = cell_scores.get((team, cid), [])
        if not mine: fail(what + ": no score is counted in this cell")
        if c["count"] != len(mine): fail("%s: count %d, but it has %d scores" % (what, c["count"], len(mine)))
        Xc, Yc = INF, INF
        for s in mine: Xc = madd(Xc, s["X"]); Yc = add(Yc, s["Y"])
        if not equal(Xc, jac(c["x"])): fail(what + ": x is not the sum of its scores' X")
        if not equal(Yc, jac(c["y"])): fail(what + ": y is not the sum of its scores' Y")
        parts = c["parts"]
        if len(parts) < T: fail("%s: %d partial decryptions, fewer than the threshold %d" % (what, len(parts), T))
        ctx = sha(b"evalvault/v2 tally cell" + lp(vault) + lp(round_id) + lp(root) + lp(team) + lp(cid))
        Xenc, Xv, used = enc(Xc, what + ": x"), Var(Xc), set()
        for pa in parts:
            h = pa["holder"]
            if h not in position: fail(pa["what"] + ": %s is not a holder" % h)
            if h in used: fail(pa["what"] + ": a second partial decryption by %s" % h)
            used.add(h)
            if pa["index"] != position[h]:
                fail("%s: index %d is not its position %d in holders" % (pa["what"], pa["index"], position[h]))
            Ki = key_share[pa["index"]]
            e = hash_to_scalar("evalvault/v2 partial decryption",
                               ctx + enc(Ki, "the public key share of " + h) + Xenc + enc(pa["D"], "") +
                               enc(pa["a"], "") + enc(pa["b"], ""))
            if not equal(Gf.mul(pa["z"]), madd(mul(Ki, e), pa["a"])) or \
               not equal(Xv.mul(pa["z"]), madd(mul(jac(pa["D"]), e), pa["b"])):
                fail("%s: partial decryption of %s does not hold" % (what, h))
        chosen = parts[:T]
        lam = lagrange([pa["index"] for pa in chosen])
        R = Yc
        for pa in chosen: R = add(R, neg(mul(jac(pa["D"]), lam[pa["index"]])))
        tot, M = c["total"], criteria[cid]["M"]
        if not 0 <= tot <= c["count"] * M:
            fail("%s: total %d is not between 0 and count·max_index = %d" % (what, tot, c["count"] * M))
        if not equal(R, Hf.mul(tot)):
            fail("%s: the combined decryption is not total·H for total %d" % (what, tot))
    for key in sorted(cell_scores):
        if key not in done: fail("cells: the scored cell %s/%s is missing" % key)

    # Check 5: results.
    reveal = obj(get(rec, "reveal", dict, "the record"), "reveal")
    stat = get(reveal, "stat", str, "reveal")
    by = get(reveal, "by", list, "reveal")
    precision = get(reveal, "precision", int, "reveal")
    if precision < 0: fail("reveal: precision is negative")
    if by not in (["team"], ["team", "criterion"]): fail("reveal: by is neither [team] nor [team, criterion]")
    if stat not in ("mean", "weighted_total", "rank", "count"): fail("reveal: unknown stat %s" % stat)
    if stat in ("weighted_total", "rank") and by != ["team"]: fail("reveal: %s is only by team" % stat)
    advance = None
    if "advance" in reveal:
        advance = get(reveal, "advance", int, "reveal")
        if stat != "rank": fail("reveal: advance is given for stat %s, not rank" % stat)
        if advance < 0: fail("reveal: advance is negative")
    expected = statistics(stat, by, precision, advance, cells, crit_order, criteria, scores)
    results = get(rec, "results", list, "the record")
    if len(results) != len(expected): fail("results: %d entries, expected %d" % (len(results), len(expected)))
    for i, (got, exp) in enumerate(zip(results, expected)):
        obj(got, "results entry %d" % (i + 1))
        label = exp["team"] + ("/" + exp["criterion"] if "criterion" in exp else "")
        for key in exp:
            if key not in got: fail("results: entry %d (%s) has no %s" % (i + 1, label, key))
            g, x = got[key], exp[key]
            if type(g) is not type(x) or g != x:
                if key in ("team", "criterion"): fail("results: entry %d is %s, expected %s" % (i + 1, g, x))
                fail("results: %s %s %s expected %s" % (label, key, show(g), show(x)))
        for key in got:
            if key not in exp: fail("results: %s has an unexpected field %s" % (label, key))
    return ("tally record verified: %d scores, %d cells, %d holders (threshold %d), %d results"
            % (len(scores), len(cells), N, T, len(results)))

def statistics(stat, by, precision, advance, cells, crit_order, criteria, scores):
    table = {}
    for c in cells: table.setdefault(c["team"], {})[c["cid"]] = (c["count"], c["total"])
    order = sorted(table)                              # team-id order, teams with scores only
    out = []
    if by == ["team", "criterion"]:
        for team in order:
            for cid in crit_order:
                if cid not in table[team]: continue
                cnt, tot = table[team][cid]
                cr = criteria[cid]
                if stat == "mean": value = fmt(cr["min"] + cr["step"] * Fraction(tot, cnt), precision)
                else: value = str(cnt)                 # a count is a whole number, no decimals
                out.append(dict(team=team, criterion=cid, n=cnt, value=value))
        return out
    def n_of(team): return min(cnt for cnt, _ in table[team].values())
    if stat == "mean":
        for team in order:
            num = sum(Fraction(100 * tot, criteria[cid]["M"]) for cid, (cnt, tot) in table[team].items())
            den = sum(cnt for cnt, _ in table[team].values())
            out.append(dict(team=team, n=n_of(team), value=fmt(num / den, precision)))
        return out
    if stat == "count":
        for team in order:
            evs = {s["ev"] for s in scores if s["team"] == team}
            out.append(dict(team=team, n=n_of(team), value=str(len(evs))))
        return out
    wsum = sum(criteria[cid]["weight"] for cid in crit_order)
    if wsum == 0: fail("results: the criteria's weights sum to 0, so no weighted total exists")
    totals = {}
    for team in order:
        v = Fraction(0)
        for cid in crit_order:
            if cid not in table[team]:
                fail("results: team %s has no score on criterion %s, so it has no weighted total" % (team, cid))
            cnt, tot = table[team][cid]
            v += criteria[cid]["weight"] / wsum * Fraction(100 * tot, criteria[cid]["M"] * cnt)
        totals[team] = v
    if stat == "weighted_total":
        return [dict(team=t, n=n_of(t), value=fmt(totals[t], precision)) for t in order]
    ranked = sorted(order, key=lambda t: (-totals[t], t))
    for pos, team in enumerate(ranked, 1):
        r = dict(team=team, n=n_of(team), value=fmt(totals[team], precision), rank=pos,
                 tie=any(totals[o] == totals[team] for o in order if o != team))
        if advance is not None: r["advance"] = pos <= advance
        out.append(r)
    return out

def show(v): return v if isinstance(v, str) else json.dumps(v)

def no_dupes(pairs):
    out = {}
    for k, v in pairs:
        if k in out: raise ValueError("duplicate member %r" % k)
        out[k] = v
    return out

def main(argv):
    if len(argv) != 2:
        print("usage: verify_tally.py RECORD.json", file=sys.stderr); return 2
    try:
        with open(argv[1], "rb") as f:
            rec = json.loads(f.read().decode("utf-8"), object_pairs_hook=no_dupes)
    except (OSError, ValueError) as ex:
        print("%s: cannot read a JSON record (%s)" % (argv[1], ex), file=sys.stderr); return 2
    try:
        line = verify(rec)
    except Invalid as ex:
        print(ex, file=sys.stderr); return 1
    print(line)
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
