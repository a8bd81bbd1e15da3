"""The digitization workflow (as Kitodo and Goobi run it): selection → condition check →
repair (when needed) → scanning → quality control (pass or rework) → metadata → publishing →
archiving, tracked per volume (册); scan batches; master files with SHA-256 fixity checks; the
figures of the progress dashboard."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ancient_books.errors import StepRefused
from ancient_books.models import (
    STEP_NAMES,
    CensusRecord,
    DigitizationStep,
    MasterFile,
    PublishedImage,
    ScanBatch,
)
from library.models import StaffUser

STEP_LABELS = {"selection": _l("选书"), "condition": _l("品相检查"), "repair": _l("修复"), "scanning": _l("扫描"),
               "qc": _l("质检"), "metadata": _l("元数据"), "publishing": _l("发布"), "archiving": _l("归档")}
STATE_LABELS = {"locked": _l("未开始"), "open": _l("待办"), "in_progress": _l("进行中"), "done": _l("完成"),
                "skipped": _l("无需")}
COLOUR_LABELS = {"colour": _l("彩色"), "grey": _l("灰度"), "bitonal": _l("黑白")}
FINISHED = ("done", "skipped")


def _refuse(step: str, reason: Any) -> StepRefused:
    return StepRefused(step=STEP_LABELS.get(step, step), reason=reason)


def start_digitization(session: Session, record: CensusRecord, *, staff: StaffUser | None,
                       now: dt.datetime) -> list[DigitizationStep]:
    """Select an approved book for digitization: every volume gets the eight steps, selection
    done, condition check open. Raises StepRefused for an unapproved or already selected book."""
    if record.status != "approved":
        raise _refuse("selection", _l("只有审核通过的普查登记才能进入数字化"))
    if session.scalar(select(DigitizationStep.id).where(DigitizationStep.record_id == record.id).limit(1)):
        raise _refuse("selection", _l("该书已在数字化流程中"))
    steps = []
    for vol in range(1, record.volumes + 1):
        for pos, name in enumerate(STEP_NAMES):
            state = "done" if name == "selection" else ("open" if name == "condition" else "locked")
            step = DigitizationStep(record_id=record.id, volume_no=vol, step=name, position=pos, state=state,
                                    assignee_id=staff.id if staff and name == "selection" else None,
                                    started_at=now if name == "selection" else None,
                                    finished_at=now if name == "selection" else None)
            session.add(step)
            steps.append(step)
    session.flush()
    return steps


def volume_steps(session: Session, record_id: int, volume_no: int) -> dict[str, DigitizationStep]:
    rows = session.scalars(select(DigitizationStep).where(DigitizationStep.record_id == record_id,
                                                          DigitizationStep.volume_no == volume_no))
    return {s.step: s for s in rows}


def _open_next(steps: dict[str, DigitizationStep], after: str) -> None:
    idx = STEP_NAMES.index(after)
    for name in STEP_NAMES[idx + 1:]:
        if steps[name].state in FINISHED:
            continue
        if steps[name].state == "locked":
            steps[name].state = "open"
        return


def start_step(session: Session, step: DigitizationStep, *, staff: StaffUser, now: dt.datetime,
               assignee: StaffUser | None = None) -> None:
    """Take an open step: it becomes in progress with an assignee. Raises StepRefused."""
    if step.state != "open":
        raise _refuse(step.step, _l("状态为“%(v0)s”，不是待办", v0=STATE_LABELS[step.state]))
    step.state, step.started_at = "in_progress", now
    step.assignee_id = (assignee or staff).id
    session.flush()


def finish_step(session: Session, step: DigitizationStep, *, staff: StaffUser, now: dt.datetime,
                outcome: str = "", note: str = "") -> None:
    """Complete a step in progress (or an open one, which is then started and finished at once).

    - condition check: ``outcome`` "repair" opens the repair step, "no_repair" skips it;
    - quality control: "pass" opens metadata, "rework" sends the volume back to scanning;
    - publishing needs the book's derivative images, archiving needs registered master files.
    Raises StepRefused."""
    if step.state not in ("open", "in_progress"):
        raise _refuse(step.step, _l("状态为“%(v0)s”", v0=STATE_LABELS[step.state]))
    steps = volume_steps(session, step.record_id, step.volume_no)
    if step.state == "open":
        step.started_at = now
        step.assignee_id = step.assignee_id or staff.id
    if note:
        step.note = note.strip()
    if step.step == "condition":
        if outcome not in ("repair", "no_repair"):
            raise _refuse(step.step, _l("请说明是否需要修复"))
        step.state, step.finished_at = "done", now
        repair = steps["repair"]
        if outcome == "repair":
            repair.state = "open"
        else:
            repair.state, repair.finished_at = "skipped", now
            steps["scanning"].state = "open"
    elif step.step == "qc":
        if outcome == "rework":
            step.state, step.rework_count = "locked", step.rework_count + 1
            step.started_at = None
            scan = steps["scanning"]
            scan.state, scan.finished_at = "open", None
        elif outcome == "pass":
            step.state, step.finished_at = "done", now
            _open_next(steps, "qc")
        else:
            raise _refuse(step.step, _l("请选择质检结论：通过或返工"))
    else:
        if step.step == "publishing" and not session.scalar(
            select(PublishedImage.id).where(PublishedImage.record_id == step.record_id).limit(1)
        ):
            raise _refuse(step.step, _l("还没有可发布的图像"))
        if step.step == "archiving" and not session.scalar(
            select(MasterFile.id).join(ScanBatch).where(ScanBatch.record_id == step.record_id,
                                                        ScanBatch.volume_no == step.volume_no).limit(1)
        ):
            raise _refuse(step.step, _l("本册还没有登记母版文件"))
        step.state, step.finished_at = "done", now
        _open_next(steps, step.step)
    if step.step == "publishing":
        record = session.get(CensusRecord, step.record_id)
        pending = session.scalar(select(func.count()).select_from(DigitizationStep).where(
            DigitizationStep.record_id == step.record_id, DigitizationStep.step == "publishing",
            DigitizationStep.state.not_in(FINISHED)))
        if record is not None and not pending and record.published_at is None:
            record.published_at = now
    session.flush()


def current_step(steps: Iterable[DigitizationStep]) -> str:
    """The first step of a volume that is not finished ("finished" when all are)."""
    for s in sorted(steps, key=lambda s: s.position):
        if s.state not in FINISHED:
            return s.step
    return "finished"


# ---------------------------------------------------------------------------- batches and files

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def register_scan_batch(session: Session, record: CensusRecord, *, volume_no: int, image_count: int,
                        resolution_ppi: int, colour: str, file_format: str, scanned_at: dt.datetime,
                        operator: str = "", device: str = "", files: Iterable[Path] = (),
                        now: dt.datetime, note: str = "") -> ScanBatch:
    """Record a scanning session of one volume and register its master files (size and SHA-256
    computed now). Raises StepRefused for a wrong volume, colour or missing file."""
    if not 1 <= volume_no <= record.volumes:
        raise _refuse("scanning", _l("册次应在 1 到 %(v0)s 之间", v0=record.volumes))
    if colour not in COLOUR_LABELS:
        raise _refuse("scanning", _l("色彩模式应为彩色、灰度或黑白"))
    if image_count < 0 or resolution_ppi <= 0:
        raise _refuse("scanning", _l("图像数和分辨率必须为正数"))
    n = (session.scalar(select(func.count()).select_from(ScanBatch).where(ScanBatch.record_id == record.id)) or 0) + 1
    batch = ScanBatch(record_id=record.id, volume_no=volume_no, batch_no=f"{record.census_no}-V{volume_no:02d}-B{n:02d}",
                      scanned_at=scanned_at, operator=operator, image_count=image_count,
                      resolution_ppi=resolution_ppi, colour=colour, file_format=file_format, device=device, note=note)
    session.add(batch)
    session.flush()
    for path in files:
        register_master_file(session, batch, Path(path), now=now)
    return batch


def register_master_file(session: Session, batch: ScanBatch, path: Path, *, now: dt.datetime) -> MasterFile:
    path = path.resolve()
    if not path.is_file():
        raise _refuse("scanning", _l("文件不存在：%(v0)s", v0=path))
    if session.scalar(select(MasterFile.id).where(MasterFile.path == str(path))) is not None:
        raise _refuse("scanning", _l("文件已登记：%(v0)s", v0=path))
    mf = MasterFile(batch_id=batch.id, path=str(path), size=path.stat().st_size, sha256=sha256_of(path),
                    registered_at=now, verified_at=now, verify_status="ok")
    session.add(mf)
    session.flush()
    return mf


@dataclass
class FixityProblem:
    path: str
    status: str  # missing / changed
    detail: str


def verify_files(session: Session, *, now: dt.datetime) -> tuple[int, list[FixityProblem]]:
    """Re-check every master file's size and SHA-256; marks each ok/missing/changed and returns
    (files checked, problems)."""
    problems: list[FixityProblem] = []
    checked = 0
    for mf in session.scalars(select(MasterFile).order_by(MasterFile.id)):
        checked += 1
        path = Path(mf.path)
        if not path.is_file():
            mf.verify_status = "missing"
            problems.append(FixityProblem(mf.path, "missing", "文件不存在"))
        else:
            size = path.stat().st_size
            digest = sha256_of(path)
            if size != mf.size or digest != mf.sha256:
                mf.verify_status = "changed"
                problems.append(FixityProblem(mf.path, "changed",
                                              f"size {mf.size}→{size}, sha256 {mf.sha256[:12]}…→{digest[:12]}…"))
            else:
                mf.verify_status = "ok"
        mf.verified_at = now
    session.flush()
    return checked, problems


# ---------------------------------------------------------------------------- the board and the dashboard

@dataclass
class BookProgress:
    record: CensusRecord
    volumes: dict[int, dict[str, DigitizationStep]] = field(default_factory=dict)

    @property
    def current(self) -> str:
        order = {name: i for i, name in enumerate((*STEP_NAMES, "finished"))}
        return min((current_step(v.values()) for v in self.volumes.values()), key=lambda s: order[s],
                   default="finished")


def board(session: Session, *, step: str | None = None) -> list[BookProgress]:
    """Every book in digitization with its volumes' steps; ``step`` keeps the books with a
    volume currently at that step."""
    rows = session.scalars(select(DigitizationStep).order_by(DigitizationStep.record_id, DigitizationStep.volume_no,
                                                             DigitizationStep.position)).all()
    by_record: dict[int, BookProgress] = {}
    ids = {s.record_id for s in rows}
    records = {r.id: r for r in session.scalars(select(CensusRecord).where(CensusRecord.id.in_(ids)))} if ids else {}
    for s in rows:
        bp = by_record.setdefault(s.record_id, BookProgress(records[s.record_id]))
        bp.volumes.setdefault(s.volume_no, {})[s.step] = s
    # books still in progress first, the finished ones after them
    books = sorted(by_record.values(), key=lambda b: (b.current == "finished", b.record.census_no))
    if step:
        books = [b for b in books if any(current_step(v.values()) == step for v in b.volumes.values())]
    return books


@dataclass
class Dashboard:
    books_at: dict[str, int]
    volumes_at: dict[str, int]
    images_per_month: list[tuple[str, int]]
    volumes_archived_per_month: list[tuple[str, int]]
    mean_days_to_archive: float | None
    total_images: int
    master_files: int
    fixity_problems: int
    published_books: int


def _months_back(now: dt.datetime, n: int) -> list[str]:
    y, m = now.year, now.month
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return list(reversed(out))


def dashboard(session: Session, *, now: dt.datetime, months: int = 12) -> Dashboard:
    """Books and volumes at each step, images scanned per month, volumes archived per month
    (throughput) and the mean days from selection to archiving."""
    books = board(session)
    books_at: Counter[str] = Counter()
    volumes_at: Counter[str] = Counter()
    durations = []
    archived: Counter[str] = Counter()
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    for b in books:
        books_at[b.current] += 1
        for steps in b.volumes.values():
            volumes_at[current_step(steps.values())] += 1
            arch, sel = steps["archiving"], steps["selection"]
            if arch.state == "done" and arch.finished_at is not None:
                archived[arch.finished_at.astimezone(tz).strftime("%Y-%m")] += 1
                if sel.started_at is not None:
                    durations.append((arch.finished_at - sel.started_at).total_seconds() / 86400)
    labels = _months_back(now.astimezone(tz), months)
    images: dict[str, int] = defaultdict(int)
    for scanned_at, count in session.execute(select(ScanBatch.scanned_at, ScanBatch.image_count)):
        images[scanned_at.astimezone(tz).strftime("%Y-%m")] += count
    total_images = sum(images.values())
    return Dashboard(
        books_at={s: books_at.get(s, 0) for s in (*STEP_NAMES, "finished")},
        volumes_at={s: volumes_at.get(s, 0) for s in (*STEP_NAMES, "finished")},
        images_per_month=[(m, images.get(m, 0)) for m in labels],
        volumes_archived_per_month=[(m, archived.get(m, 0)) for m in labels],
        mean_days_to_archive=round(sum(durations) / len(durations), 1) if durations else None,
        total_images=total_images,
        master_files=session.scalar(select(func.count()).select_from(MasterFile)) or 0,
        fixity_problems=session.scalar(select(func.count()).select_from(MasterFile)
                                       .where(MasterFile.verify_status != "ok")) or 0,
        published_books=session.scalar(select(func.count()).select_from(CensusRecord)
                                       .where(CensusRecord.published_at.is_not(None))) or 0,
    )
