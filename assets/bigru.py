"""The direction classifier: a bidirectional GRU over a window of bars, trained with early stopping.

The original system's model, kept small: one bidirectional GRU layer reads the window (both
directions: a window is a closed past, so reading it backwards leaks nothing), the last step's two
hidden states go through a linear layer to the five classes' logits. Training minimises cross-entropy
with Adam, keeps the weights of the epoch with the lowest validation loss, and stops after `patience`
epochs without a better one. Seeded: on CPU two runs on the same data give the same weights
(torch's deterministic algorithms, one data order per seed). CUDA is used when present; there,
reproducible weights also need CUBLAS_WORKSPACE_CONFIG=:4096:8 in the environment (cuBLAS's rule).
"""

import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

CLASSES = 5


class BiGRU(nn.Module):
    def __init__(self, features: int, hidden: int, classes: int = CLASSES) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        steps, _ = self.gru(inputs)
        return self.head(steps[:, -1, :])


@dataclass(frozen=True)
class TrainConfig:
    hidden: int = 32
    max_epochs: int = 50
    patience: int = 5
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 20241206


@dataclass(frozen=True)
class Trained:
    model: BiGRU
    epochs: int  # run, including those after the best
    best_epoch: int
    history: list[dict[str, float]]  # per epoch: loss, validation_loss, seconds


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _seeded(seed: int) -> torch.Generator:
    """Seeds torch and asks for deterministic kernels, process-wide (a training run is the process's one
    torch user). On CUDA the GRU is deterministic only with cuDNN's deterministic mode, set here too."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)


def class_weights(classes: np.ndarray) -> torch.Tensor:
    """Each class's loss weight, the inverse of its share of the training part (1 for a class it lacks):
    unweighted, five unequal classes make predicting the common ones the cheapest answer, and the
    promotion reads macro-F1, where every class counts alike."""
    counts = np.bincount(classes, minlength=CLASSES).astype(np.float64)
    weights = np.where(counts > 0, len(classes) / (CLASSES * np.maximum(counts, 1)), 1.0)
    return torch.tensor(weights, dtype=torch.float32)


def _mean_loss(model: BiGRU, inputs: torch.Tensor, classes: torch.Tensor, batch: int, weights: torch.Tensor) -> float:
    model.eval()
    loss, criterion = 0.0, nn.CrossEntropyLoss(weight=weights, reduction="sum")
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            loss += criterion(model(inputs[start : start + batch]), classes[start : start + batch]).item()
    return loss / max(len(inputs), 1)


def train(
    train_inputs: np.ndarray,
    train_classes: np.ndarray,
    validation_inputs: np.ndarray,
    validation_classes: np.ndarray,
    config: TrainConfig,
    log: Callable[[str], None],
) -> Trained:
    """The best model on the validation loss (both losses weigh the classes by class_weights of the training
    part); `log` gets a line per epoch (losses, time per epoch, and the time left: the least if no later
    epoch improves, the most if every one does)."""
    if not len(train_classes) or not len(validation_classes):
        raise ValueError(
            f"training needs samples in both parts: {len(train_classes)} training, {len(validation_classes)} validation"
        )
    generator = _seeded(config.seed)
    where = device()
    x, y = torch.from_numpy(train_inputs).to(where), torch.from_numpy(train_classes).to(where)
    vx, vy = torch.from_numpy(validation_inputs).to(where), torch.from_numpy(validation_classes).to(where)
    model = BiGRU(train_inputs.shape[2], config.hidden).to(where)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    weights = class_weights(train_classes).to(where)
    criterion = nn.CrossEntropyLoss(weight=weights)
    best, best_loss, best_epoch, history = None, float("inf"), 0, []
    for epoch in range(1, config.max_epochs + 1):
        started = time.monotonic()
        model.train()
        order = torch.randperm(len(x), generator=generator).to(where)
        total = 0.0
        for start in range(0, len(x), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = criterion(model(x[batch]), y[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        validation_loss = _mean_loss(model, vx, vy, config.batch_size, weights)
        seconds = time.monotonic() - started
        history.append({"epoch": epoch, "loss": total / len(x), "validation_loss": validation_loss, "seconds": seconds})
        if validation_loss < best_loss:
            best, best_loss, best_epoch = {k: v.clone() for k, v in model.state_dict().items()}, validation_loss, epoch
        least = min(config.max_epochs - epoch, config.patience - (epoch - best_epoch)) * seconds
        most = (config.max_epochs - epoch) * seconds
        log(
            f"epoch {epoch}/{config.max_epochs}: loss {total / len(x):.4f}, validation loss {validation_loss:.4f} "
            f"(best {best_loss:.4f} at {best_epoch}), {seconds:.1f} s/epoch, ~{least:.0f}-{most:.0f} s left"
        )
        if epoch - best_epoch >= config.patience:
            break
    if best is None:
        raise ValueError("no epoch had a finite validation loss (a NaN or infinite feature?)")
    model.load_state_dict(best)
    return Trained(model.cpu(), epoch, best_epoch, history)


def probabilities(model: BiGRU, inputs: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Class probabilities [n, CLASSES] of each sequence."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            out.append(torch.softmax(model(torch.from_numpy(inputs[start : start + batch])), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, CLASSES), np.float32)


def to_bytes(model: BiGRU, config: TrainConfig, meta: dict[str, object]) -> bytes:
    """The artifact: weights, the architecture's sizes and everything needed to predict with it."""
    buffer = io.BytesIO()
    torch.save(
        {"state_dict": model.state_dict(), "features": model.gru.input_size, "config": asdict(config), "meta": meta},
        buffer,
    )
    return buffer.getvalue()


def from_bytes(body: bytes) -> tuple[BiGRU, dict[str, object]]:
    stored = torch.load(io.BytesIO(body), weights_only=True)
    model = BiGRU(stored["features"], stored["config"]["hidden"])
    model.load_state_dict(stored["state_dict"])
    model.eval()
    return model, stored["meta"]
