#!/usr/bin/env python3
"""Peer benchmark: the drift measures driftd computes, done by other tools.

Given a baseline (CSV or JSON Lines, e.g. a training CSV written by
`driftd simulate --training-out`) and a current file (JSON Lines written by
`driftd simulate --out-file`, or CSV), it computes per feature the measures
of docs/stats-contract (PSI on baseline-decile bins, Kolmogorov-Smirnov,
Wasserstein, Jensen-Shannon for numeric features; PSI, Jensen-Shannon and
chi-square for categorical ones):

  (a) with a plain numpy/scipy implementation of the contract, and
  (b) with Evidently's per-column drift (ValueDrift with the psi, ks,
      wasserstein and jensenshannon stattests; chisquare for categories).

Each is timed on the same loaded DataFrames (loading is timed apart) and
the result is one JSON document on stdout:

  {"scipy_rows_per_s": x, "evidently_rows_per_s": y, ...}

where rows/s = current rows / compute seconds (wall clock; CPU seconds are
reported beside them). If Evidently cannot be
imported or fails, "evidently_rows_per_s" is null and "evidently_error"
says why; the script still exits 0.
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPS = 1e-4  # smoothing of empty bins, as in the stats contract (and Evidently)
NOT_FEATURES = {"target", "prediction", "score", "event_id", "model", "model_version", "ts", "latency_ms"}


def load(path, columns=None, numeric=None):
    """Reads CSV or JSON Lines into a DataFrame of feature columns.

    JSON Lines rows that carry a "features" object (driftd schema v1) are
    flattened to their features. With `columns`, only those are kept and
    numeric ones are coerced to float.
    """
    if path.endswith(".csv"):
        df = pd.read_csv(path, keep_default_na=False, na_values=["", "NaN", "nan", "null"], low_memory=False)
    elif path.endswith(".jsonl"):
        df = load_jsonl(path, columns, numeric)
    else:
        raise SystemExit(f"{path}: want a .csv or .jsonl file")
    if columns is None:
        columns = [c for c in df.columns if c not in NOT_FEATURES]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: columns {missing} absent")
    df = df[columns]
    if numeric is not None:
        for c in columns:
            df[c] = pd.to_numeric(df[c], errors="coerce") if c in numeric else df[c].astype(object)
    return df


def load_jsonl(path, columns, numeric):
    """JSON Lines through pyarrow's C++ reader when the columns are known
    (an explicit schema avoids type guessing on a null first block), else
    line by line."""
    with open(path, "rb") as f:
        first = json.loads(f.readline() or b"{}")
    nested = isinstance(first.get("features"), dict)
    if columns is not None:
        try:
            import pyarrow as pa
            from pyarrow import json as pj

            fields = [pa.field(c, pa.float64() if c in numeric else pa.string()) for c in columns]
            schema = pa.schema([pa.field("features", pa.struct(fields))] if nested else fields)
            opts = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
            table = pj.read_json(path, read_options=pj.ReadOptions(block_size=16 << 20), parse_options=opts)
            if nested:
                table = table.flatten().rename_columns(columns)
            return table.to_pandas()
        except ImportError:
            pass
    rows = []
    with open(path, "rb") as f:
        for line in f:
            row = json.loads(line)
            rows.append(row["features"] if nested else row)
    return pd.DataFrame.from_records(rows)


def proportions(counts):
    total = counts.sum()
    p = counts / total if total else counts.astype(float)
    return p, np.where(p == 0, EPS, p)


def histogram_measures(bc, cc):
    """PSI and JS on smoothed proportions (contract: not renormalised for
    PSI; jensenshannon renormalises)."""
    _, ps = proportions(bc)
    _, qs = proportions(cc)
    return {
        "psi": float(np.sum((qs - ps) * np.log(qs / ps))),
        "js": float(jensenshannon(ps, qs)),
    }


def numeric_measures(b, c, bins=10):
    b = b[np.isfinite(b)]
    c = c[np.isfinite(c)]
    if len(b) == 0 or len(c) == 0:
        return None
    edges = np.unique(np.quantile(b, np.arange(1, bins) / bins))
    bc = np.bincount(np.searchsorted(edges, b, side="left"), minlength=len(edges) + 1)
    cc = np.bincount(np.searchsorted(edges, c, side="left"), minlength=len(edges) + 1)
    out = histogram_measures(bc, cc)
    d = stats.ks_2samp(b, c, method="asymp").statistic
    en = len(b) * len(c) / (len(b) + len(c))
    out["ks"] = {"statistic": float(d), "p_value": float(stats.kstwobign.sf(np.sqrt(en) * d))}
    w = stats.wasserstein_distance(b, c)
    sd = np.std(b)
    out["wasserstein"] = float(w)
    out["wasserstein_normed"] = float(w / sd) if sd > 0 else float(w)
    return out


def categorical_measures(b, c):
    bv = b.dropna().value_counts()
    cv = c.dropna().value_counts()
    if bv.sum() == 0 or cv.sum() == 0:
        return None
    cats = sorted(set(bv.index) | set(cv.index), key=lambda s: str(s).encode())
    bc = bv.reindex(cats, fill_value=0).to_numpy()
    cc = cv.reindex(cats, fill_value=0).to_numpy()
    out = histogram_measures(bc, cc)
    table = np.array([bc, cc])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        out["chi2"] = {"statistic": 0.0, "p_value": 1.0, "dof": 0}
    else:
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
        out["chi2"] = {"statistic": float(chi2), "p_value": float(p), "dof": int(dof)}
    return out


def run_scipy(base, cur, numeric, categorical):
    res = {}
    for col in numeric:
        res[col] = numeric_measures(base[col].to_numpy(dtype=float), cur[col].to_numpy(dtype=float))
    for col in categorical:
        res[col] = categorical_measures(base[col], cur[col])
    return res


NUM_METHODS = ("psi", "ks", "wasserstein", "jensenshannon")
CAT_METHODS = ("psi", "jensenshannon", "chisquare")


def run_evidently(base, cur, numeric, categorical):
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    metrics = [ValueDrift(column=c, method=m) for c in numeric for m in NUM_METHODS]
    metrics += [ValueDrift(column=c, method=m) for c in categorical for m in CAT_METHODS]
    definition = DataDefinition(numerical_columns=list(numeric), categorical_columns=list(categorical))
    snapshot = Report(metrics).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(base, data_definition=definition),
    )
    res = {}
    for m in snapshot.dict()["metrics"]:
        cfg = m["config"]
        res.setdefault(cfg["column"], {})[cfg["method"]] = m["value"]
    return res


def timed(fn, *args):
    """Wall and CPU seconds of fn(*args), and its result. CPU time shows
    the cost on a shared machine, where wall time also counts waiting."""
    wall, cpu = time.perf_counter(), time.process_time()
    res = fn(*args)
    return round(time.perf_counter() - wall, 3), round(time.process_time() - cpu, 3), res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, help="baseline .csv or .jsonl")
    ap.add_argument("--current", required=True, help="current .jsonl (driftd simulate --out-file) or .csv")
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--measures-out", help="also write every measure of both tools to this JSON file")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    t0 = time.perf_counter()
    base = load(args.baseline)
    numeric = [c for c in base.columns if pd.api.types.is_numeric_dtype(base[c])]
    categorical = [c for c in base.columns if c not in numeric]
    base = load(args.baseline, list(base.columns), set(numeric))
    t1 = time.perf_counter()
    cur = load(args.current, list(base.columns), set(numeric))
    t2 = time.perf_counter()

    out = {
        "scipy_rows_per_s": None,
        "evidently_rows_per_s": None,
        "rows": {"baseline": len(base), "current": len(cur)},
        "features": {"numeric": len(numeric), "categorical": len(categorical)},
        "load_seconds": {"baseline": round(t1 - t0, 3), "current": round(t2 - t1, 3)},
    }
    measures = {}

    secs, cpu, measures["scipy"] = timed(run_scipy, base, cur, numeric, categorical)
    out["scipy_rows_per_s"] = round(len(cur) / secs)
    out["scipy_seconds"], out["scipy_cpu_seconds"] = secs, cpu

    if args.skip_evidently:
        out["evidently_error"] = "skipped (--skip-evidently)"
    else:
        try:
            import evidently

            out["evidently_version"] = evidently.__version__
            secs, cpu, measures["evidently"] = timed(run_evidently, base, cur, numeric, categorical)
            out["evidently_rows_per_s"] = round(len(cur) / secs)
            out["evidently_seconds"], out["evidently_cpu_seconds"] = secs, cpu
        except Exception as e:  # any failure is a result to report, not a crash
            out["evidently_error"] = f"{type(e).__name__}: {e}".splitlines()[0]

    if args.measures_out:
        with open(args.measures_out, "w") as f:
            json.dump(measures, f, indent=1, sort_keys=True)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
