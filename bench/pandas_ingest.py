#!/usr/bin/env python3
"""Reference implementation of `resact bench ingest` in pandas.

Reads a `user,item,timestamp` CSV (timestamps in seconds), sorts per user,
cuts sessions at gaps longer than --gap seconds, and computes both rewards of
method.md section 1 (r_rt with the 75th percentile of all return times, r_sl).
Prints one JSON line: rows, seconds, rows_per_s, peak_rss_mb, and reward
histograms so the two implementations can be compared.
"""
import argparse
import json
import resource
import time

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("--gap", type=float, default=1800)
    args = ap.parse_args()

    t0 = time.time()
    df = pd.read_csv(args.input, dtype={"user": np.int64, "item": np.int64, "timestamp": np.int64})
    df.sort_values(["user", "timestamp", "item"], inplace=True, kind="stable")
    user = df["user"].to_numpy()
    ts = df["timestamp"].to_numpy()
    new_user = np.r_[True, user[1:] != user[:-1]]
    new_session = new_user | np.r_[True, np.diff(ts) > args.gap]
    sid = np.cumsum(new_session) - 1
    sessions = pd.DataFrame({"user": user, "ts": ts, "sid": sid}).groupby("sid").agg(
        user=("user", "first"), start=("ts", "min"), end=("ts", "max"), length=("ts", "size"))
    same_user_next = np.r_[sessions["user"].to_numpy()[1:] == sessions["user"].to_numpy()[:-1], False]
    next_start = np.r_[sessions["start"].to_numpy()[1:], 0]
    ret = np.where(same_user_next, (next_start - sessions["end"].to_numpy()) / 3600.0, np.nan)
    sessions["ret"] = ret
    p75 = np.nanpercentile(ret, 75)
    by_user = sessions.groupby("user")
    ret_avg = by_user["ret"].transform("mean").to_numpy()
    len_avg = by_user["length"].transform("mean").to_numpy()
    cap = np.minimum(ret_avg, p75)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_rt = np.where(np.isnan(ret), 0, np.clip(np.floor(cap / ret), 0, 5))
    r_sl = np.clip(np.floor(sessions["length"].to_numpy() / (0.8 * len_avg)), 0, 5)
    seconds = time.time() - t0
    rows = len(df)
    print(json.dumps({
        "bench": "ingest", "impl": "pandas", "rows": rows, "sessions": int(len(sessions)),
        "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "return_p75_hours": float(p75),
        "r_rt_hist": np.bincount(r_rt.astype(int), minlength=6).tolist(),
        "r_sl_hist": np.bincount(r_sl.astype(int), minlength=6).tolist(),
    }))


if __name__ == "__main__":
    main()
