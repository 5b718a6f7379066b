# bench/bench_lib.sh — what the upload benches share (sourced, not run).

# flash_limit_ms BYTES: the flash-bound time of writing an image of BYTES,
# in ms, from the timing model (docs/SIMULATOR.md, W25Q32 typical figures):
# from a 64 KiB aligned slot base, floor(S'/64 KiB) block erases x 150 ms +
# the tail's 4 KiB sector erases x 45 ms (S' = S rounded up to 4 KiB, as
# lib/writer.c erases) + ceil(S/256) page programs x 0.4 ms + S x 100 ns of
# read-back. Nothing else the device does (journal, otadata, hashing) is in it.
flash_limit_ms() {
    awk -v s="$1" 'BEGIN {
        end = int((s + 4095) / 4096) * 4096
        blocks = int(end / 65536); sectors = (end - blocks * 65536) / 4096
        pages = int((s + 255) / 256)
        printf "%.1f\n", blocks * 150 + sectors * 45 + pages * 0.4 + s * 0.0001 }'
}

# median: the median of the numbers on stdin (separated by spaces or lines)
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
