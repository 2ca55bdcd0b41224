#!/usr/bin/env python3
"""Self-test of verify_tally.py, with a small test-only prover written from docs/tally-format.md.

The prover below (its own P-256 affine arithmetic, hashing and encodings; nothing imported from
the verifier or from EvalVault) runs a ceremony of 3 holders with threshold 2 and random
polynomials, encrypts 11 scores with their proofs, sums the cells, has 2 or 3 holders decrypt a
share of each cell total with a Chaum-Pedersen proof, and computes the statistics. The test then
runs verify_tally.py as a command: it must accept the record (exit 0) for every statistic, and
reject it (exit 1, naming the right check) after each one of a long list of single changes.

    python3 Tests/tools/test_verify_tally.py          (TALLY_SEED=… to repeat a run's randomness)
"""
import copy, hashlib, importlib.util, json, os, random, subprocess, sys, tempfile, time, unittest
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFIER = os.path.join(HERE, "verify_tally.py")
SEED = int(os.environ.get("TALLY_SEED", random.SystemRandom().randrange(1 << 32)))
rng = random.Random(SEED)

# --- P-256, affine, the short way --------------------------------------------------------------
Pm = 2**256 - 2**224 + 2**192 + 2**96 - 1
Nq = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
Bc = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
Gp = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
      0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)

def ec_add(A, C):                       # None is the identity
    if A is None: return C
    if C is None: return A
    if A[0] == C[0]:
        if (A[1] + C[1]) % Pm == 0: return None
        lam = (3 * A[0] * A[0] - 3) * pow(2 * A[1], -1, Pm) % Pm
    else:
        lam = (C[1] - A[1]) * pow(C[0] - A[0], -1, Pm) % Pm
    x = (lam * lam - A[0] - C[0]) % Pm
    return (x, (lam * (A[0] - x) - A[1]) % Pm)

def ec_neg(A): return None if A is None else (A[0], (-A[1]) % Pm)

def ec_mul(k, A):
    k %= Nq; R = None
    while k:
        if k & 1: R = ec_add(R, A)
        A = ec_add(A, A); k >>= 1
    return R

def pt(A): return "04%064x%064x" % A
def sc(k): return "%064x" % k
def ptb(A): return bytes.fromhex(pt(A))
def sha(x): return hashlib.sha256(x).digest()
def lp(s):
    s = s.encode() if isinstance(s, str) else s
    return len(s).to_bytes(2, "big") + s
def u32(v): return v.to_bytes(4, "big")
def h2s(label, data):
    d = sha(lp(label) + data)
    return int.from_bytes(sha(d + b"\x01") + sha(d + b"\x02"), "big") % Nq
def rand(): return rng.randrange(1, Nq)

def second_generator():
    c = 0
    while True:
        x = int.from_bytes(sha(b"evalvault/v2 tally H" + u32(c)), "big")
        if x < Pm:
            y2 = (pow(x, 3, Pm) - 3 * x + Bc) % Pm
            if pow(y2, (Pm - 1) // 2, Pm) in (0, 1):       # Euler's criterion: a square
                y = pow(y2, (Pm + 1) // 4, Pm)
                return (x, Pm - y if y & 1 else y), c
        c += 1

Hp, H_COUNTER = second_generator()

# --- The prover ------------------------------------------------------------------------------------
VAULT, ROUND, HOLDERS, T = "test-vault", "R2", ["chair", "cm-1", "cm-2"], 2
ROOT = bytes(rng.randrange(256) for _ in range(32))
CRITERIA = [  # id, weight, min, max, step, M
    ("design", "60", "0", "10", "1", 10),
    ("quality", "40", "0", "100", "0.5", 200),
]
TEAMS = ["nc-ai", "upstage"]
SCORES = [  # evaluator, team, criterion, grid index; ev-3 did not score nc-ai on quality
    ("ev-1", "upstage", "design", 7), ("ev-2", "upstage", "design", 8), ("ev-3", "upstage", "design", 9),
    ("ev-1", "upstage", "quality", 150), ("ev-2", "upstage", "quality", 143), ("ev-3", "upstage", "quality", 200),
    ("ev-1", "nc-ai", "design", 10), ("ev-2", "nc-ai", "design", 6), ("ev-3", "nc-ai", "design", 0),
    ("ev-1", "nc-ai", "quality", 121), ("ev-2", "nc-ai", "quality", 0),
]
DECRYPTERS = {("nc-ai", "design"): [2, 3], ("nc-ai", "quality"): [1, 3],
              ("upstage", "design"): [3, 1], ("upstage", "quality"): [1, 2, 3]}

def weights(M):
    k = M.bit_length()
    return [2 ** i for i in range(k - 1)] + [M - (2 ** (k - 1) - 1)]

def ceremony():
    Nh = len(HOLDERS)
    polys = [[rand() for _ in range(T)] for _ in range(Nh)]
    entries = []
    for j in range(1, Nh + 1):
        ctx = sha(b"evalvault/v2 ceremony" + lp(VAULT) + lp(ROUND) + u32(Nh) +
                  b"".join(lp(h) for h in HOLDERS) + u32(T) + u32(j))
        coeffs, proofs = [], []
        for t, a in enumerate(polys[j - 1]):
            F = ec_mul(a, Gp); r = rand(); R = ec_mul(r, Gp)
            e = h2s("evalvault/v2 ceremony coefficient proof", ctx + u32(t) + ptb(F) + ptb(R))
            coeffs.append(pt(F)); proofs.append({"r": pt(R), "z": sc((r + e * a) % Nq)})
        entries.append({"holder": HOLDERS[j - 1], "index": j, "coefficients": coeffs, "proofs": proofs})
    secret = sum(f[0] for f in polys) % Nq
    shares = {i: sum(sum(c * pow(i, t, Nq) for t, c in enumerate(f)) for f in polys) % Nq
              for i in range(1, Nh + 1)}
    return entries, ec_mul(secret, Gp), shares

def encrypt(K, ev, team, cid, M, m):
    w = weights(M); k = len(w)
    bits = [0] * k; rest = m
    if rest >= w[-1]: bits[-1] = 1; rest -= w[-1]
    for i in range(k - 1): bits[i] = (rest >> i) & 1
    assert sum(wi * bi for wi, bi in zip(w, bits)) == m
    s = [rand() for _ in range(k)]
    C = [ec_add(ec_mul(bits[i], Hp), ec_mul(s[i], K)) for i in range(k)]
    A, sim, r = [], [], []
    for i in range(k):
        b_, ri, cs, vs = bits[i], rand(), rand(), rand()
        real = ec_mul(ri, K)
        other = 1 - b_                                  # simulate the other branch
        target = C[i] if other == 0 else ec_add(C[i], ec_neg(Hp))
        fake = ec_add(ec_mul(vs, K), ec_neg(ec_mul(cs, target)))
        A.append((real, fake) if b_ == 0 else (fake, real)); sim.append((cs, vs)); r.append(ri)
    S = sum(wi * si for wi, si in zip(w, s)) % Nq
    X = ec_mul(S, Gp); tS, tm = rand(), rand()
    T1 = ec_mul(tS, Gp); T2 = ec_add(ec_mul(tm, Hp), ec_mul(tS, K))
    points = ptb(X) + b"".join(ptb(C[i]) + ptb(A[i][0]) + ptb(A[i][1]) for i in range(k)) + ptb(T1) + ptb(T2)
    ctx = sha(b"evalvault/v2 tally score" + lp(VAULT) + lp(ROUND) + ptb(K) + lp(ev) + lp(team) + lp(cid) + u32(M))
    e = h2s("evalvault/v2 tally score proof", ctx + points)
    scal = b""
    for i in range(k):
        cs, vs = sim[i]
        creal = (e - cs) % Nq; vreal = (r[i] + creal * s[i]) % Nq
        c0, v0, v1 = (creal, vreal, vs) if bits[i] == 0 else (cs, vs, vreal)
        scal += bytes.fromhex(sc(c0) + sc(v0) + sc(v1))
    scal += bytes.fromhex(sc((tS + e * S) % Nq) + sc((tm + e * m) % Nq))
    Y = None
    for wi, Ci in zip(w, C): Y = ec_add(Y, ec_mul(wi, Ci))
    return (points + scal).hex(), X, Y, k

def key_share(entries, i):
    K = None
    for e in entries:
        for t, F in enumerate(e["coefficients"]):
            K = ec_add(K, ec_mul(pow(i, t, Nq), (int(F[2:66], 16), int(F[66:], 16))))
    return K

def fmt(x, prec):
    q = x * 10 ** prec
    fl = q.numerator // q.denominator; frac = q - fl
    r = fl + (1 if frac > Fraction(1, 2) or (frac == Fraction(1, 2) and fl % 2 == 1) else 0)
    s = str(abs(r)).zfill(prec + 1)
    s = s if prec == 0 else s[:-prec] + "." + s[-prec:]
    return ("-" if r < 0 else "") + s

def stats(reveal, cells, scores):
    crit = {c[0]: c for c in CRITERIA}
    per = {}
    for c in cells: per.setdefault(c["team"], {})[c["criterion"]] = (c["count"], c["total"])
    teams = sorted(per); prec = reveal["precision"]; out = []
    if reveal["by"] == ["team", "criterion"]:
        for t in teams:
            for cid, _, lo, _, step, M in CRITERIA:
                if cid in per[t]:
                    c, tot = per[t][cid]
                    value = fmt(Fraction(lo) + Fraction(step) * tot / c, prec) if reveal["stat"] == "mean" else str(c)
                    out.append({"team": t, "criterion": cid, "n": c, "value": value})
        return out
    wsum = sum(Fraction(c[1]) for c in CRITERIA)
    val = {}
    for t in teams:
        nmin = min(c for c, _ in per[t].values())
        if reveal["stat"] == "mean":
            v = sum(Fraction(100 * tot, crit[cid][5]) for cid, (c, tot) in per[t].items()) / sum(c for c, _ in per[t].values())
        elif reveal["stat"] == "count":
            v = Fraction(len({s["evaluator"] for s in scores if s["team"] == t}))
        else:
            v = sum(Fraction(crit[cid][1]) / wsum * Fraction(100 * tot, crit[cid][5] * c) for cid, (c, tot) in per[t].items())
        val[t] = (nmin, v)
    if reveal["stat"] == "count":
        return [{"team": t, "n": val[t][0], "value": str(val[t][1].numerator)} for t in teams]
    if reveal["stat"] != "rank":
        return [{"team": t, "n": val[t][0], "value": fmt(val[t][1], prec)} for t in teams]
    for pos, t in enumerate(sorted(teams, key=lambda t: (-val[t][1], t)), 1):
        r = {"team": t, "n": val[t][0], "value": fmt(val[t][1], prec), "rank": pos,
             "tie": any(val[o][1] == val[t][1] for o in teams if o != t)}
        if "advance" in reveal: r["advance"] = pos <= reveal["advance"]
        out.append(r)
    return out

def build():
    entries, K, shares = ceremony()
    crit = {c[0]: c for c in CRITERIA}
    order = list(range(len(SCORES))); rng.shuffle(order)          # the document fixes no order
    scores, sums, ks = [], {}, {}
    for idx in order:
        ev, team, cid, m = SCORES[idx]
        ct, X, Y, k = encrypt(K, ev, team, cid, crit[cid][5], m)
        scores.append({"evaluator": ev, "team": team, "criterion": cid, "ciphertext": ct})
        x, y, c, t = sums.get((team, cid), (None, None, 0, 0))
        sums[(team, cid)] = (ec_add(x, X), ec_add(y, Y), c + 1, t + m); ks[cid] = k
    cells = []
    for team in TEAMS:
        for cid, *_ in CRITERIA:
            if (team, cid) not in sums: continue
            Xc, Yc, count, total = sums[(team, cid)]
            ctx = sha(b"evalvault/v2 tally cell" + lp(VAULT) + lp(ROUND) + lp(ROOT) + lp(team) + lp(cid))
            partials = []
            for i in DECRYPTERS[(team, cid)]:
                Ki = key_share(entries, i); D = ec_mul(shares[i], Xc); r = rand()
                a, b_ = ec_mul(r, Gp), ec_mul(r, Xc)
                e = h2s("evalvault/v2 partial decryption", ctx + ptb(Ki) + ptb(Xc) + ptb(D) + ptb(a) + ptb(b_))
                partials.append({"holder": HOLDERS[i - 1], "index": i, "share": pt(D), "a": pt(a), "b": pt(b_),
                                 "z": sc((r + e * shares[i]) % Nq)})
            # Sanity of the prover itself: any T partials give total·H.
            S = partials[:T]; acc = Yc
            for pa in S:
                i = pa["index"]; lam = 1
                for q in S:
                    if q["index"] != i: lam = lam * q["index"] * pow(q["index"] - i, -1, Nq) % Nq
                acc = ec_add(acc, ec_neg(ec_mul(lam * shares[i], Xc)))
            assert acc == ec_mul(total, Hp)
            cells.append({"team": team, "criterion": cid, "count": count, "x": pt(Xc), "y": pt(Yc),
                          "total": total, "partials": partials})
    reveal = {"stat": "rank", "by": ["team"], "precision": 2, "advance": 1}
    record = {
        "format": "evalvault tally record v1", "vault": VAULT, "round": ROUND, "manifest_root": ROOT.hex(),
        "holders": HOLDERS, "threshold": T, "ceremony": entries, "joint_key": pt(K),
        "criteria": [{"id": c[0], "weight": c[1], "min": c[2], "max": c[3], "step": c[4], "max_index": c[5]}
                     for c in CRITERIA],
        "teams": TEAMS, "scores": scores, "cells": cells, "reveal": reveal,
        "results": stats(reveal, cells, scores)}
    return record, ks

# --- Running the verifier --------------------------------------------------------------------------
TMP = tempfile.TemporaryDirectory(prefix="verify-tally-")
def tearDownModule(): TMP.cleanup()

def run(record, name="record"):
    path = os.path.join(TMP.name, name + ".json")
    with open(path, "w") as f:
        f.write(record if isinstance(record, str) else json.dumps(record, indent=1))
    r = subprocess.run([sys.executable, VERIFIER, path], capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout.strip(), r.stderr.strip()

def other_digit(c): return "0" if c != "0" else "1"
def flip(s, pos):
    """s with the hex digit at pos changed (pos < 0 counts from the end)."""
    pos %= len(s)
    return s[:pos] + other_digit(s[pos]) + s[pos + 1:]

class Ct:
    """Offsets of a ciphertext's fields in its hex string."""
    def __init__(self, k): self.k = k
    def point(self, i): return 130 * i                      # 0 = X, 1+3i = C_i, 2+3i = A_i,0, 3+3i = A_i,1
    def C(self, i): return self.point(1 + 3 * i)
    def A(self, i, br): return self.point(2 + 3 * i + br)
    def T1(self): return self.point(3 * self.k + 1)
    def T2(self): return self.point(3 * self.k + 2)
    def scalar(self, j): return 130 * (3 * self.k + 3) + 64 * j
    def c(self, i): return self.scalar(3 * i)
    def v(self, i, br): return self.scalar(3 * i + 1 + br)
    def zS(self): return self.scalar(3 * self.k)
    def zm(self): return self.scalar(3 * self.k + 1)

def at(rec, crit):
    """Index of the first score on a criterion."""
    return next(i for i, s in enumerate(rec["scores"]) if s["criterion"] == crit)

def set_ct(rec, i, fn): rec["scores"][i]["ciphertext"] = fn(rec["scores"][i]["ciphertext"])
def splice(s, off, new): return s[:off] + new + s[off + len(new):]

def mutations(rec, ks):
    """(name, change, a fragment the verifier's sentence must contain)."""
    q8, q4 = Ct(ks["quality"]), Ct(ks["design"])
    iq, idz = at(rec, "quality"), at(rec, "design")
    i3 = next(i for i, s in enumerate(rec["scores"]) if s["evaluator"] == "ev-3" and s["criterion"] == "quality")
    other_point = rec["cells"][0]["y"]                      # a valid point that belongs nowhere else
    m = []
    def add(name, frag):
        def deco(fn): m.append((name, fn, frag)); return fn
        return deco
    @add("unknown format string", "format")
    def _(r): r["format"] = "evalvault tally record v2"
    @add("a ceremony coefficient's hex digit", "coefficient 1 is not a point")
    def _(r): r["ceremony"][1]["coefficients"][1] = flip(r["ceremony"][1]["coefficients"][1], -1)
    @add("a ceremony coefficient replaced by another valid point", "proof of coefficient 1 does not hold")
    def _(r): r["ceremony"][0]["coefficients"][1] = other_point
    @add("a ceremony proof's z", "proof of coefficient 0 does not hold")
    def _(r): r["ceremony"][2]["proofs"][0]["z"] = flip(r["ceremony"][2]["proofs"][0]["z"], -1)
    @add("a ceremony proof's r replaced by another valid point", "proof of coefficient 1 does not hold")
    def _(r): r["ceremony"][2]["proofs"][1]["r"] = other_point
    @add("ceremony entries' indices swapped", "is not its position")
    def _(r): r["ceremony"][0]["index"], r["ceremony"][1]["index"] = 2, 1
    @add("a ceremony entry dropped", "ceremony has 2 entries")
    def _(r): del r["ceremony"][2]
    @add("the joint key's hex digit", "joint_key is not a point")
    def _(r): r["joint_key"] = flip(r["joint_key"], -3)
    @add("the joint key replaced by another valid point", "joint_key is not the sum")
    def _(r): r["joint_key"] = other_point
    @add("a score ciphertext's X (hex digit)", "ciphertext point X is not a point")
    def _(r): set_ct(r, iq, lambda s: flip(s, q8.point(0) + 129))
    @add("a score ciphertext's X replaced by another valid point", "bit 0's proof does not hold")
    def _(r): set_ct(r, iq, lambda s: splice(s, 0, other_point))
    @add("a bit commitment C (hex digit)", "ciphertext point C2 is not a point")
    def _(r): set_ct(r, iq, lambda s: flip(s, q8.C(2) + 100))
    @add("a bit commitment C replaced by another valid point", "bit 0's proof does not hold")
    def _(r): set_ct(r, iq, lambda s: splice(s, q8.C(5), other_point))
    @add("an A (hex digit)", "ciphertext point A1,0 is not a point")
    def _(r): set_ct(r, idz, lambda s: flip(s, q4.A(1, 0) + 129))
    @add("A0,1 and A0,0 swapped", "bit 0's proof does not hold")
    def _(r): set_ct(r, idz, lambda s: splice(splice(s, q4.A(0, 0), s[q4.A(0, 1):q4.A(0, 1) + 130]),
                                          q4.A(0, 1), s[q4.A(0, 0):q4.A(0, 0) + 130]))
    @add("a c (hex digit)", "bit 3's proof does not hold")
    def _(r): set_ct(r, iq, lambda s: flip(s, q8.c(3) + 63))
    @add("a v of branch 0 (hex digit)", "bit 2's proof does not hold")
    def _(r): set_ct(r, idz, lambda s: flip(s, q4.v(2, 0) + 63))
    @add("a v of branch 1 (hex digit)", "bit 7's proof does not hold")
    def _(r): set_ct(r, iq, lambda s: flip(s, q8.v(7, 1) + 40))
    @add("T1 (hex digit)", "ciphertext point T1 is not a point")
    def _(r): set_ct(r, iq, lambda s: flip(s, q8.T1() + 129))
    @add("T2 replaced by another valid point", "bit 0's proof does not hold")
    def _(r): set_ct(r, iq, lambda s: splice(s, q8.T2(), other_point))
    @add("z_S (hex digit)", "proof of X")
    def _(r): set_ct(r, iq, lambda s: flip(s, q8.zS() + 63))
    @add("z_m (hex digit)", "proof of Y")
    def _(r): set_ct(r, idz, lambda s: flip(s, q4.zm() + 63))
    @add("a scalar set to n (not below n)", "ciphertext scalar v1,0 is not a scalar: it is not below n")
    def _(r): set_ct(r, iq, lambda s: splice(s, q8.v(1, 0), sc(Nq)))
    @add("a point with prefix 03", "does not start with 04")
    def _(r): set_ct(r, iq, lambda s: splice(s, q8.A(4, 1), "03"))
    @add("a point with a coordinate >= p", "a coordinate is not below p")
    def _(r): r["joint_key"] = "04" + "%064x" % Pm + r["joint_key"][66:]
    @add("a ciphertext one byte short", "bytes, not 2587 for k = 8")
    def _(r): set_ct(r, iq, lambda s: s[:-2])
    @add("upper-case hex", "lower-case hex")
    def _(r): r["cells"][1]["x"] = r["cells"][1]["x"].upper()
    @add("a score moved to another team", "score %d (ev-3, nc-ai, quality): bit 0's proof does not hold" % (i3 + 1))
    def _(r): r["scores"][i3]["team"] = "nc-ai"          # ev-3 has no score of its own there
    @add("a score moved to another evaluator", "bit 0's proof does not hold")
    def _(r): r["scores"][idz]["evaluator"] = "ev-9"
    @add("a score moved to another criterion", "bytes, not")
    def _(r): r["scores"][idz]["criterion"] = "quality"
    @add("a score on a team not listed", "is not listed in teams")
    def _(r): r["teams"] = [t for t in r["teams"] if t != r["scores"][0]["team"]]
    @add("a duplicate score", "a second score by")
    def _(r): r["scores"].append(copy.deepcopy(r["scores"][3]))
    @add("a dropped score", "count 3, but it has 2 scores")
    def _(r): del r["scores"][next(i for i, s in enumerate(r["scores"]) if s["team"] == "upstage")]
    @add("a cell's x (hex digit)", "x is not a point")
    def _(r): r["cells"][0]["x"] = flip(r["cells"][0]["x"], -1)
    @add("a cell's x replaced by another valid point", "x is not the sum")
    def _(r): r["cells"][2]["x"] = other_point
    @add("a cell's y replaced by another valid point", "y is not the sum")
    def _(r): r["cells"][1]["y"] = other_point
    @add("a cell's total + 1", "combined decryption is not total·H")
    def _(r): r["cells"][3]["total"] += 1
    @add("a cell's total above count·max_index", "is not between 0 and")
    def _(r): r["cells"][0]["total"] = r["cells"][0]["count"] * 10 + 1
    @add("a cell's count + 1", "count 4, but it has 3 scores")
    def _(r): r["cells"][0]["count"] += 1
    @add("a cell dropped", "is missing")
    def _(r): del r["cells"][2]
    @add("a cell listed twice", "listed twice")
    def _(r): r["cells"].append(copy.deepcopy(r["cells"][0]))
    @add("a partial's share (hex digit)", "share is not a point")
    def _(r): r["cells"][0]["partials"][0]["share"] = flip(r["cells"][0]["partials"][0]["share"], -1)
    @add("a partial's share from another cell", "partial decryption of")
    def _(r): r["cells"][1]["partials"][1]["share"] = r["cells"][0]["partials"][1]["share"]
    @add("a partial's z", "partial decryption of")
    def _(r): r["cells"][3]["partials"][2]["z"] = flip(r["cells"][3]["partials"][2]["z"], -1)
    @add("a partial's b replaced by another valid point", "partial decryption of")
    def _(r): r["cells"][2]["partials"][0]["b"] = other_point
    @add("a partial's index", "is not its position")
    def _(r): r["cells"][0]["partials"][0]["index"] = 1
    @add("a partial's holder (another holder)", "is not its position")
    def _(r): r["cells"][0]["partials"][0]["holder"] = "chair"
    @add("a partial's holder and index (another holder)", "partial decryption of chair does not hold")
    def _(r): r["cells"][0]["partials"][0].update(holder="chair", index=1)
    @add("a partial's holder (unknown)", "is not a holder")
    def _(r): r["cells"][1]["partials"][0]["holder"] = "cm-9"
    @add("only T - 1 partials", "fewer than the threshold 2")
    def _(r): r["cells"][1]["partials"] = r["cells"][1]["partials"][:1]
    @add("a partial repeated", "a second partial decryption")
    def _(r): r["cells"][1]["partials"][1] = copy.deepcopy(r["cells"][1]["partials"][0])
    @add("a wrong manifest_root with unchanged partials", "partial decryption of")
    def _(r): r["manifest_root"] = flip(r["manifest_root"], 5)
    @add("another vault name", "proof of coefficient 0 does not hold")
    def _(r): r["vault"] = "other-vault"
    @add("another threshold", "2 proofs, not the threshold 3")
    def _(r): r["threshold"] = 3
    @add("holders reordered", "is not its position")
    def _(r): r["holders"] = [r["holders"][1], r["holders"][0], r["holders"][2]]
    @add("a criterion's max_index", "max_index")
    def _(r): r["criteria"][0]["max_index"] = 11
    @add("a criterion's weight", "value")
    def _(r): r["criteria"][0]["weight"] = "50"
    @add("a result value", "results: upstage value 80.88 expected 80.87")
    def _(r): r["results"][0]["value"] = "80.88"
    @add("a result rank", "rank 2 expected 1")
    def _(r): r["results"][0]["rank"] = 2
    @add("a result tie", "tie true expected false")
    def _(r): r["results"][1]["tie"] = True
    @add("a result advance", "advance true expected false")
    def _(r): r["results"][1]["advance"] = True
    @add("a result n", "n 3 expected 2")
    def _(r): r["results"][1]["n"] = 3
    @add("results in the wrong order", "entry 1 is nc-ai, expected upstage")
    def _(r): r["results"].reverse()
    @add("a result dropped", "1 entries, expected 2")
    def _(r): del r["results"][1]
    @add("the request's advance removed", "unexpected field advance")
    def _(r): del r["reveal"]["advance"]
    @add("the request's precision", "value")
    def _(r): r["reveal"]["precision"] = 3
    return m

class TallyVerifierTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        print("seed %d; H = %s (counter %d)" % (SEED, pt(Hp), H_COUNTER), file=sys.stderr)
        t = time.time()
        cls.record, cls.ks = build()
        print("prover: %.1f s" % (time.time() - t), file=sys.stderr)

    def test_h_matches_the_verifiers(self):
        spec = importlib.util.spec_from_file_location("verify_tally", VERIFIER)
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        self.assertEqual(mod.derive_H(), Hp)

    def test_valid_record(self):
        rc, out, err = run(self.record)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "tally record verified: 11 scores, 4 cells, 3 holders (threshold 2), 2 results")
        self.assertEqual([(x["team"], x["value"], x["rank"], x["advance"]) for x in self.record["results"]],
                         [("upstage", "80.87", 1, True), ("nc-ai", "44.10", 2, False)])

    def test_every_statistic(self):
        for reveal in ({"stat": "mean", "by": ["team", "criterion"], "precision": 1},
                       {"stat": "mean", "by": ["team"], "precision": 3},
                       {"stat": "weighted_total", "by": ["team"], "precision": 2},
                       {"stat": "count", "by": ["team"], "precision": 0},
                       {"stat": "count", "by": ["team", "criterion"], "precision": 2},
                       {"stat": "rank", "by": ["team"], "precision": 0}):
            with self.subTest(reveal=reveal):
                r = copy.deepcopy(self.record); r["reveal"] = reveal
                r["results"] = stats(reveal, r["cells"], r["scores"])
                rc, out, err = run(r, "stat")
                self.assertEqual(rc, 0, err)

    def test_rounding(self):
        spec = importlib.util.spec_from_file_location("verify_tally", VERIFIER)
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        cases = [("1/8", 2, "0.12"), ("3/8", 2, "0.38"), ("-1/1000", 2, "0.00"), ("-1/200", 2, "0.00"),
                 ("-3/200", 2, "-0.02"), ("7", 2, "7.00"), ("5/2", 0, "2"), ("7/2", 0, "4"), ("-241/2", 0, "-120"),
                 ("1/3", 4, "0.3333")]
        for f in (fmt, mod.fmt):
            self.assertEqual([f(Fraction(x), d) for x, d, _ in cases], [want for _, _, want in cases])

    def test_mutations(self):
        names, jobs = [], []
        for i, (name, change, fragment) in enumerate(mutations(self.record, self.ks)):
            r = copy.deepcopy(self.record); change(r)
            self.assertNotEqual(r, self.record, name)
            jobs.append((name, fragment, r, "mutated-%02d" % i))
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            outcomes = list(pool.map(lambda job: run(job[2], job[3]), jobs))
        for (name, fragment, _, _), (rc, out, err) in zip(jobs, outcomes):
            with self.subTest(mutation=name):
                self.assertEqual(rc, 1, "%s: exit %d (%s%s)" % (name, rc, out, err))
                self.assertIn(fragment, err, name)
                self.assertEqual(len(err.splitlines()), 1, name)
            names.append("%s → %s" % (name, err))
        print("\n%d mutations rejected:\n  %s" % (len(names), "\n  ".join(names)), file=sys.stderr)

    def test_usage(self):
        self.assertEqual(subprocess.run([sys.executable, VERIFIER], capture_output=True).returncode, 2)
        self.assertEqual(run("{not json", "broken")[0], 2)
        self.assertEqual(run('{"format": 1, "format": 2}', "dupes")[0], 2)
        self.assertEqual(run("[]", "list")[0], 1)

if __name__ == "__main__":
    unittest.main(verbosity=2)
