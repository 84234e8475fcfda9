"""`make bench`, training part: the direction model's seconds per epoch and sequences per second.

Sequences of the demo sample's shape (32 bars x 61 features, five classes) are made at two sizes: the
sample's training part (19,389 sequences, `make demo`'s crypto_1m) and BENCH_TRAINING_SEQUENCES
(default 200,000); each trains BENCH_TRAINING_EPOCHS epochs (default 2, no early stop) with the
default settings (hidden 32, batch 256, CPU). A year of 1m bars for 20 pairs is 10.5 million
sequences an epoch: its epoch time is projected from the larger size's rate, and its memory is what
the sequences would take as one float32 tensor, which is how bigru.train holds them today.
"""

import os
import time

import numpy as np
import torch

from assets import bigru
from bench.doc import table as markdown_table
from bench.doc import write_section

WINDOW, FEATURES = 32, 61
SAMPLE_SEQUENCES = 19_389
YEAR_OF_20_PAIRS = 20 * 525_600


def made(sequences: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(sequences, WINDOW, FEATURES)).astype(np.float32), rng.integers(0, 5, sequences)


def epoch_seconds(sequences: int, epochs: int) -> float:
    x, y = made(sequences, 1)
    vx, vy = made(max(sequences // 5, 1), 2)
    config = bigru.TrainConfig(max_epochs=epochs, patience=epochs + 1)
    trained = bigru.train(x, y, vx, vy, config, lambda line: None)
    return float(np.mean([h["seconds"] for h in trained.history]))


def prediction_rate(sequences: int) -> float:
    x, _ = made(sequences, 3)
    model = bigru.BiGRU(FEATURES, bigru.TrainConfig().hidden)
    started = time.perf_counter()
    bigru.probabilities(model, x)
    return sequences / (time.perf_counter() - started)


def main() -> None:
    large = int(os.environ.get("BENCH_TRAINING_SEQUENCES", "200000"))
    epochs = int(os.environ.get("BENCH_TRAINING_EPOCHS", "2"))
    sample = epoch_seconds(SAMPLE_SEQUENCES, epochs)
    big = epoch_seconds(large, epochs)
    rate = large / big
    year_bytes = YEAR_OF_20_PAIRS * WINDOW * FEATURES * 4
    rows = [
        (
            "epoch, the sample's training part",
            f"{sample:.1f} s",
            f"{SAMPLE_SEQUENCES:,} sequences, {SAMPLE_SEQUENCES / sample:,.0f}/s",
        ),
        (f"epoch, {large:,} sequences", f"{big:.1f} s", f"{rate:,.0f} sequences/s"),
        (
            "epoch, a year of 1m bars x 20 pairs (projected)",
            f"{YEAR_OF_20_PAIRS / rate / 60:.0f} min",
            f"{YEAR_OF_20_PAIRS:,} sequences; as one float32 tensor {year_bytes / 2**30:,.0f} GiB: does not fit in "
            "memory here (24 GiB), windows would have to be cut per batch",
        ),
        ("prediction", f"{prediction_rate(large):,.0f} sequences/s", "one process, batches of 1,024"),
    ]
    write_section(
        "Direction model training",
        f"`python -m bench.training`: made sequences of the sample's shape ({WINDOW} bars x {FEATURES} features), "
        f"{epochs} epochs each, torch {torch.__version__} on {bigru.device()} with {torch.get_num_threads()} threads, "
        f"1-minute load average {os.getloadavg()[0]:.2f} at the end.\n\n" + markdown_table(rows),
    )
    for row in rows:
        print(" | ".join(row))


if __name__ == "__main__":
    main()
