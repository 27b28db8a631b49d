# SPDX-License-Identifier: GPL-2.0
# Per-run max victim latency per arm. gnuplot -e "dir='...'; title='...'" plot.gp
set terminal pngcairo size 1000,560 font ",10"
set output dir."/max_latency.png"
set title title noenhanced
set bmargin 4
set ylabel "max mmap/munmap latency per run (ms, log scale)"
set logscale y
set xrange [-0.6:7.6]
set xtics noenhanced ("no reader" 0, "/proc maps" 1, "our maps" 2, "our maps\nlock_mode=1" 3, "/proc\nsmaps_rollup" 4, "our\nsmaps_rollup" 5, "/proc\nnuma_maps" 6, "our\nnuma_maps" 7)
set grid ytics
unset key
set jitter overlap 0.02 spread 0.4
plot dir."/max_latency.dat" using 1:2 with points pt 7 ps 0.8 lc rgb "#3366aa"
