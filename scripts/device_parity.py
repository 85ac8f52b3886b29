"""Check `score EXPORT FEATURES` against the export's own SDK, built here for each target.

    python -m scripts.device_parity EXPORT [EXPORT ...] [--rows 10000] [--builds ...] [--work DIR]

Each EXPORT is a local copy of a public deployment export that includes its SDK (`edge-impulse-sdk/`
beside `model-parameters/` and `tflite-model/`: a C++ library, an Arduino library's `src/`, or a
firmware repository holding one). Nothing of it is copied into this repository.

For each export the script:
1. reads the export with Anomaly Lens (`load_block`), as `score` does;
2. makes raw DSP rows (the full feature vector the impulse's DSP blocks output) whose anomaly axes
   sit around and between the block's clusters or components and far out, float32, deterministic;
   with data normalization they are mapped back through the export's constants, so the SDK's own
   normalization runs on them;
3. builds a small harness around the export's SDK (`run_data_normalization`, when the export has it,
   then `run_inference`: every learn block, exactly as `run_classifier` after its DSP) for each build:
   x86-64 g++ run here, and arm-none-eabi-gcc for Cortex-M33 (QEMU mps2-an505), Cortex-M4F (mps2-an386)
   and Cortex-M7 with a double-precision FPU (mps2-an500), run in QEMU with semihosting;
4. scores the same rows with `python -m ei_anomaly score EXPORT rows.csv --target T` (in this process)
   and prints, per export and build, how many rows have the same float32 bits, and the largest
   difference (absolute, and in float32 ULPs) where they differ.

docs/gmm.md quotes the table (`--markdown` prints it as Markdown). The ARM builds need
`gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm`; builds
whose tools are missing are skipped with a note. CMSIS-DSP is left out of the builds (the DSP blocks
never run here: rows are their output; the normalization's subtract and multiply are exactly rounded
either way); CMSIS-NN is in the Cortex-M builds as the SDK enables it (its float kernels fall back to
TFLite Micro's reference ones).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ei_anomaly.blocks import load_block
from ei_anomaly.blocks.parts import FeatureSpace, Target
from ei_anomaly.cli import main as cli_main


@dataclass(frozen=True)
class Build:
    name: str
    target: Target  # the target `score` is asked for
    arm_flags: tuple[str, ...] | None  # None: x86-64 with g++, run here
    opt: str
    board: str = ""
    ram: tuple[int, int] = (0, 0)  # origin, length

    @property
    def native(self) -> bool:
        return self.arm_flags is None


_M33 = ("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16")
_M4F = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
_M7 = ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16")
BUILDS = {
    "x86-64-O2": Build("x86-64 g++ -O2", Target.LINUX, None, "-O2"),
    "m33-O2": Build("Cortex-M33 -O2 (QEMU)", Target.CORTEX_M, _M33, "-O2", "mps2-an505", (0x10000000, 0x400000)),
    "m33-Os": Build("Cortex-M33 -Os (QEMU)", Target.CORTEX_M, _M33, "-Os", "mps2-an505", (0x10000000, 0x400000)),
    "m4f-Os": Build("Cortex-M4F -Os (QEMU)", Target.CORTEX_M, _M4F, "-Os", "mps2-an386", (0x0, 0x400000)),
    "m7dp-O2": Build(
        "Cortex-M7, double-precision FPU -O2 (QEMU)", Target.CORTEX_M, _M7, "-O2", "mps2-an500", (0x0, 0x400000)
    ),
}
DEFAULT_BUILDS = "x86-64-O2,m33-O2,m33-Os,m4f-Os,m7dp-O2"

STARTUP = r"""
#include <stdint.h>
#include <stdlib.h>
extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern uint32_t __bss_start__, __bss_end__, __stack_top;
void Reset_Handler(void) {
    *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20); /* the FPU: full access to CP10, CP11 */
    __asm volatile ("dsb\n isb");
    for (uint32_t *p = &__bss_start__; p < &__bss_end__; p++) *p = 0;
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}
void Default_Handler(void) { exit(99); }
void _init(void) {}
void _fini(void) {}
void *__dso_handle = 0;
__attribute__((section(".vectors"), used)) const void *vectors[16] = {
    &__stack_top, (void *)Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler, Default_Handler,
};
"""

LINKER = """
MEMORY { RAM (rwx) : ORIGIN = {origin}, LENGTH = {length} }
ENTRY(Reset_Handler)
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text*) KEEP(*(.init)) KEEP(*(.fini)) *(.rodata*)
    . = ALIGN(4); __preinit_array_start = .; KEEP(*(.preinit_array)) __preinit_array_end = .;
    __init_array_start = .; KEEP(*(SORT(.init_array.*))) KEEP(*(.init_array)) __init_array_end = .;
    __fini_array_start = .; KEEP(*(.fini_array)) __fini_array_end = .; } > RAM
  .ARM.extab : { *(.ARM.extab* .gnu.linkonce.armextab.*) } > RAM
  .ARM.exidx : { __exidx_start = .; *(.ARM.exidx* .gnu.linkonce.armexidx.*) __exidx_end = .; } > RAM
  .data : { *(.data*) } > RAM
  .bss (NOLOAD) : { . = ALIGN(4); __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end__ = .; } > RAM
  . = ALIGN(8); end = .; _end = .;
  __stack_top = ORIGIN(RAM) + LENGTH(RAM);
}
"""

PORTING = r"""
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "edge-impulse-sdk/porting/ei_classifier_porting.h"
EI_IMPULSE_ERROR ei_run_impulse_check_canceled() { return EI_IMPULSE_OK; }
EI_IMPULSE_ERROR ei_sleep(int32_t time_ms) { (void)time_ms; return EI_IMPULSE_OK; }
uint64_t ei_read_timer_ms() { return 0; }
uint64_t ei_read_timer_us() { return 0; }
void ei_serial_set_baudrate(int baudrate) { (void)baudrate; }
void ei_putchar(char c) { putchar(c); }
void ei_printf(const char *format, ...) { va_list args; va_start(args, format); vprintf(format, args); va_end(args); }
void ei_printf_float(float f) { printf("%f", (double)f); }
void *ei_malloc(size_t size) { return malloc(size); }
void *ei_calloc(size_t nitems, size_t size) { return calloc(nitems, size); }
void ei_free(void *ptr) { free(ptr); }
#if EI_C_LINKAGE == 1 /* as tensorflow/lite/micro/debug_log.h declares it (older SDKs: C++ linkage) */
extern "C" void DebugLog(const char *s) { fputs(s, stdout); }
#else
void DebugLog(const char *s) { fputs(s, stdout); }
#endif
"""

HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include "edge-impulse-sdk/classifier/ei_run_classifier.h"

static float row[EI_CLASSIFIER_NN_INPUT_FRAME_SIZE];

static float score_row(void) {
    ei_impulse_result_t result;
    memset(&result, 0, sizeof(result));
@SCORE@
    return result.anomaly;
}

int main(void) {
    FILE *in = fopen("rows.bin", "rb");
    FILE *out = fopen("@OUT@", "wb");
    if (!in || !out) { printf("cannot open rows.bin or @OUT@\n"); return 2; }
    size_t n = 0;
    while (fread(row, sizeof(float), EI_CLASSIFIER_NN_INPUT_FRAME_SIZE, in) == EI_CLASSIFIER_NN_INPUT_FRAME_SIZE) {
        float s = score_row();
        fwrite(&s, sizeof(float), 1, out);
        n++;
    }
    fclose(out);
    printf("scored %u rows\n", (unsigned)n);
    return 0;
}
"""

# How a harness calls the SDK, by the generation of its `run_inference`.
SCORE_CALLS = {
    "matrix": """    ei::matrix_t features(1, EI_CLASSIFIER_NN_INPUT_FRAME_SIZE, row);
    if (run_inference(&features, &result, false) != EI_IMPULSE_OK) { printf("run_inference failed\\n"); exit(3); }""",
    "impulse": """    ei::matrix_t features(1, EI_CLASSIFIER_NN_INPUT_FRAME_SIZE, row);
    if (run_inference(&ei_default_impulse, &features, &result, false) != EI_IMPULSE_OK) { exit(3); }""",
    "handle": """    ei_impulse_handle_t *handle = &ei_default_impulse;
    const ei_impulse_t *impulse = handle->impulse;
    ei_feature_t features[8];
    ei::matrix_t *matrices[8];
    size_t offset = 0;
    for (size_t i = 0; i < impulse->dsp_blocks_size; i++) {
        matrices[i] = new ei::matrix_t(1, impulse->dsp_blocks[i].n_output_features, row + offset);
        features[i].matrix = matrices[i];
        features[i].blockId = impulse->dsp_blocks[i].blockId;
        offset += impulse->dsp_blocks[i].n_output_features;
    }
#if EI_CLASSIFIER_HAS_DATA_NORMALIZATION
    if (run_data_normalization(handle, features) != EI_IMPULSE_OK) { printf("normalization failed\\n"); exit(3); }
#endif
    /* the anomaly learn block, called as run_inference calls each block */
    for (size_t ix = 0; ix < impulse->learning_blocks_size; ix++) {
        const ei_learning_block_t *block = &impulse->learning_blocks[ix];
        if (block->blockId != ANOMALY_BLOCK_ID) continue;
        EI_IMPULSE_ERROR res = block->infer_fn(impulse, features, ix, (uint32_t *)block->input_block_ids,
                                               block->input_block_ids_size, &result, block->config, false);
        if (res != EI_IMPULSE_OK) { printf("the anomaly block failed\\n"); exit(3); }
    }
    for (size_t i = 0; i < impulse->dsp_blocks_size; i++) delete matrices[i];""",
}


def sdk_generation(root: Path) -> str:
    text = (root / "edge-impulse-sdk" / "classifier" / "ei_run_classifier.h").read_text(errors="replace")
    if re.search(r"run_inference\(\s*ei_impulse_handle_t", text):
        return "handle"
    if re.search(r"run_inference\(\s*const ei_impulse_t", text):
        return "impulse"
    return "matrix"


def export_root(path: Path, work: Path) -> Path:
    """The folder holding model-parameters/ and edge-impulse-sdk/ (a zip is extracted into `work`)."""
    if path.suffix.lower() == ".zip":
        target = work / "unzipped" / path.stem
        if not target.exists():
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    name = Path(member.filename)
                    if name.is_absolute() or ".." in name.parts:
                        raise SystemExit(f"{path.name}: refusing {member.filename!r}")
                archive.extractall(target)
        path = target
    for found in sorted(path.rglob("model-parameters")):
        if (found.parent / "edge-impulse-sdk").is_dir():
            return found.parent
    raise SystemExit(f"{path}: no model-parameters/ beside an edge-impulse-sdk/ (the SDK is needed to build it)")


def sources(root: Path, build: Build) -> list[Path]:
    sdk = root / "edge-impulse-sdk"
    found: list[Path] = []
    for folder in ("tensorflow", "dsp", "classifier"):
        found += [p for p in (sdk / folder).rglob("*") if p.suffix in (".c", ".cc", ".cpp")]
    if not build.native:
        found += [p for p in (sdk / "CMSIS" / "NN" / "Source").rglob("*") if p.suffix in (".c", ".cc", ".cpp")]
    found += [p for p in (root / "tflite-model").glob("*") if p.suffix in (".c", ".cc", ".cpp")]
    skip = ("/porting/", "_test.", "/test/", "/examples/", "kernel_runner", "test_helpers", "recording_")
    return sorted(p for p in found if not any(s in p.as_posix() for s in skip))


def includes(root: Path) -> list[str]:
    sdk = root / "edge-impulse-sdk"
    dirs = [root, sdk, sdk / "third_party" / "flatbuffers" / "include", sdk / "third_party" / "gemmlowp"]
    dirs += [sdk / "third_party" / "ruy", sdk / "CMSIS" / "NN" / "Include", sdk / "CMSIS" / "DSP" / "Include"]
    dirs += [sdk / "CMSIS" / "Core" / "Include", sdk / "CMSIS" / "DSP" / "PrivateInclude"]
    return [f"-I{d}" for d in dirs if d.is_dir()]


DEFINES = [
    "-DEIDSP_USE_CMSIS_DSP=0",
    "-DEIDSP_LOAD_CMSIS_DSP_SOURCES=0",
    "-DEI_CLASSIFIER_ALLOCATION_HEAP=1",
    "-DTF_LITE_DISABLE_X86_NEON=1",
    "-DEIDSP_QUANTIZE_FILTERBANK=0",
    "-DNDEBUG",
]


def compile_one(src: Path, obj: Path, cmd: list[str]) -> str | None:
    if obj.exists():
        return None
    obj.parent.mkdir(parents=True, exist_ok=True)
    tmp = obj.with_suffix(".tmp.o")
    result = subprocess.run([*cmd, "-c", str(src), "-o", str(tmp)], capture_output=True, text=True)
    if result.returncode != 0:
        return f"{src}:\n{result.stderr[-3000:]}"
    tmp.replace(obj)
    return None


def stubs_for_missing_graphs(root: Path, out_dir: Path) -> list[Path]:
    """A learn block whose EON-compiled `.cpp` the export's copy lacks (only its header is there) is
    never run by the harness (it calls the anomaly block alone): stub functions let it link."""
    stubs = []
    for header in sorted((root / "tflite-model").glob("*_compiled.h")):
        if header.with_suffix(".cpp").exists():
            continue
        text = header.read_text(errors="replace")
        bodies = [
            m.group(1) + " { return kTfLiteError; }"
            for m in re.finditer(r"^(TfLiteStatus\s+\w+\s*\([^;]*\))\s*;", text, re.M)
        ]
        stub = out_dir / f"stub_{header.stem}.cpp"
        stub.write_text(f'#include "tflite-model/{header.name}"\n' + "\n".join(bodies) + "\n")
        stubs.append(stub)
    return stubs


def build_harness(root: Path, build: Build, out_dir: Path, jobs: int, block_id: int | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    arm = not build.native
    cc, cxx = ("arm-none-eabi-gcc", "arm-none-eabi-g++") if arm else ("gcc", "g++")
    flags = [build.opt, "-ffunction-sections", "-fdata-sections", "-w", *DEFINES, *includes(root)]
    flags.append(f"-DANOMALY_BLOCK_ID={block_id if block_id is not None else -1}")
    if arm:
        flags = [*build.arm_flags, *flags]  # type: ignore[misc]
    generation = sdk_generation(root)
    (out_dir / "harness.cpp").write_text(
        HARNESS.replace("@SCORE@", SCORE_CALLS[generation]).replace("@OUT@", f"scores-{out_dir.name}.bin")
    )
    (out_dir / "porting.cpp").write_text(PORTING)
    extra = [out_dir / "harness.cpp", out_dir / "porting.cpp", *stubs_for_missing_graphs(root, out_dir)]
    if arm:
        (out_dir / "startup.c").write_text(STARTUP)
        extra.append(out_dir / "startup.c")
    files = sources(root, build) + extra
    tasks = []
    for src in files:
        is_c = src.suffix == ".c"
        cmd = [cc if is_c else cxx, *flags, "-std=gnu11" if is_c else "-std=gnu++17"]
        key = hashlib.sha256((str(src) + " ".join(cmd) + str(src.stat().st_mtime)).encode()).hexdigest()[:16]
        tasks.append((src, out_dir / "obj" / f"{src.stem}-{key}.o", cmd))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        errors = [e for e in pool.map(lambda t: compile_one(*t), tasks) if e]
    if errors:
        raise SystemExit(f"{build.name}: {len(errors)} files failed to compile; the first:\n{errors[0]}")
    binary = out_dir / "harness.elf"
    link = [cxx, *flags, *(str(t[1]) for t in tasks), "-Wl,--gc-sections", "-o", str(binary)]
    if arm:
        origin, length = build.ram
        script = out_dir / "link.ld"
        script.write_text(LINKER.replace("{origin}", hex(origin)).replace("{length}", hex(length)))
        link += ["-T", str(script), "-nostartfiles", "--specs=rdimon.specs", "-lm"]
    else:
        link += ["-lm"]
    result = subprocess.run(link, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{build.name}: link failed:\n{result.stderr[-4000:]}")
    return binary


def run_harness(binary: Path, build: Build, work: Path, timeout: float) -> np.ndarray:
    if build.native:
        cmd = [str(binary)]
    else:
        cmd = [
            "qemu-system-arm",
            "-M",
            build.board,
            "-nographic",
            "-semihosting-config",
            "enable=on,target=native",
            "-kernel",
            str(binary),
        ]
    result = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or "scored" not in result.stdout:
        raise SystemExit(
            f"{build.name}: the harness failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return np.fromfile(work / f"scores-{binary.parent.name}.bin", np.float32)


def make_rows(block, frame: int, count: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Raw DSP rows: the anomaly axes from the block's probe rows (its own units, mapped back through
    the export's normalization), the other features random; float32."""
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((count, frame)).astype(np.float32)
    probes = block.probe_rows(count)
    norm = block.setup.normalization
    if norm is not None:
        probes = (probes / norm.inverse_scale + norm.mean).astype(np.float32)
    rows[:, block.axes] = probes
    return rows


def frame_size(root: Path) -> int:
    text = (root / "model-parameters" / "model_metadata.h").read_text(errors="replace")
    m = re.search(r"#define\s+EI_CLASSIFIER_NN_INPUT_FRAME_SIZE\s+(\d+)", text)
    if not m:
        raise SystemExit(f"{root}: no EI_CLASSIFIER_NN_INPUT_FRAME_SIZE in model_metadata.h")
    return int(m.group(1))


def score_with_cli(export: Path, csv: Path, target: Target, out: Path) -> np.ndarray:
    code = cli_main(["score", str(export), str(csv), "-o", str(out), "--target", target.value])
    if code != 0:
        raise SystemExit(f"`score {export} {csv.name} --target {target.value}` exited {code}")
    import pyarrow.parquet as pq

    return np.asarray(
        pq.read_table(out, columns=["anomaly_score"]).column(0).to_numpy(zero_copy_only=False), np.float32
    )


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def ordered(x: np.ndarray) -> np.ndarray:
        i = x.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    return np.abs(ordered(a) - ordered(b))


@dataclass
class Row:
    export: str
    kind: str
    layout: str
    build: str
    target: str
    rows: int
    same: int
    max_abs: float
    max_ulps: int


def check_export(path: Path, builds: list[Build], count: int, work: Path, jobs: int, timeout: float) -> list[Row]:
    root = export_root(path, work)
    block = load_block(root)
    name = path.name
    case = work / re.sub(r"[^\w.-]", "_", name)
    case.mkdir(parents=True, exist_ok=True)
    frame = frame_size(root)
    rows = make_rows(block.with_setup(features_are=FeatureSpace.RAW), frame, count)
    rows.tofile(case / "rows.bin")
    csv = case / "rows.csv"
    header = ",".join(f"f{i}" for i in range(frame))
    np.savetxt(csv, rows, fmt="%.9g", delimiter=",", header=header, comments="")
    ours = {t: score_with_cli(root, csv, t, case / f"ours-{t.value}.parquet") for t in Target}
    out = []
    for build in builds:
        tools = ["g++"] if build.native else ["arm-none-eabi-g++", "qemu-system-arm"]
        if not all(shutil.which(t) for t in tools):
            print(f"note: {build.name} skipped: {', '.join(tools)} not installed", file=sys.stderr)
            continue
        key = re.sub(r"[^\w]", "_", build.name)
        block_id = block.setup.origin.block_id if block.setup.origin else None
        binary = build_harness(root, build, case / key, jobs, block_id)
        theirs = run_harness(binary, build, case, timeout)
        mine = ours[build.target]
        if len(theirs) != len(mine):
            raise SystemExit(f"{build.name}: {len(theirs)} scores for {len(mine)} rows")
        same = (mine.view(np.int32) == theirs.view(np.int32)) | (np.isnan(mine) & np.isnan(theirs))
        diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
        out.append(
            Row(
                name,
                block.kind.label,
                block.setup.origin.layout if block.setup.origin else "",
                build.name,
                build.target.value,
                len(mine),
                int(same.sum()),
                float(np.nanmax(diff)) if (~same).any() else 0.0,
                int(ulps(mine, theirs)[~same].max()) if (~same).any() else 0,
            )
        )
        print(f"{name}: {build.name}: {out[-1].same:,}/{out[-1].rows:,} rows the same", file=sys.stderr)
    return out


def table(rows: list[Row], markdown: bool) -> str:
    head = ["export", "block", "held as", "SDK built as", "`--target`", "same float32 bits", "largest difference"]
    lines = []
    for r in rows:
        diff = "none" if r.same == r.rows else f"{r.max_abs:.3g} ({r.max_ulps} ULPs)"
        lines.append([r.export, r.kind, r.layout, r.build, r.target, f"{r.same:,} / {r.rows:,}", diff])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=True)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)) for line in [head, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports", nargs="+", type=Path, help="local copies of public exports (with their SDK)")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--builds", default=DEFAULT_BUILDS, help=f"comma-separated, of {', '.join(BUILDS)}")
    parser.add_argument("--work", type=Path, help="where builds and rows go (kept: builds are reused)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for one run in QEMU")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    builds = [BUILDS[b.strip()] for b in args.builds.split(",") if b.strip()]
    work = args.work or Path(tempfile.gettempdir()) / "anomaly-lens-device-parity"
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for export in args.exports:
        rows += check_export(export, builds, args.rows, work, args.jobs, args.timeout)
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
