#!/usr/bin/env bash
# Regenerates the demo stream in assets/: ten 1-second MPEG-TS segments,
# seg000.ts .. seg009.ts, that package demo loops into an endless live HLS
# stream for `relaymesh dev`. Needs ffmpeg (../../../.ci/ffmpeg.sh installs it).
#
# Why these settings:
#   testsrc2 + sine     ffmpeg's built-in sources: no input files, no licences,
#                       and a moving picture with a clock and a tone make a
#                       stall or a skipped segment visible and audible.
#   426x240, 24 fps     the smallest common HLS rendition; keeps the repo light.
#   150 kbit/s video,   ten seconds come to a few hundred KB in all, TS
#   48 kbit/s mono AAC  overhead included (the assets are committed).
#   H.264 baseline 3.0  decodes in every HLS player, browsers included.
#   keyframe every 24   every segment starts with an IDR frame, so a player
#   frames, no scenecut can start at any segment and the loop can wrap after
#                       any of them (the playlist marks the wrap with
#                       #EXT-X-DISCONTINUITY, as the timestamps restart).
#   segment muxer       cuts at those keyframes, one file per second; each
#                       file starts with its own PAT/PMT.
#   -threads 1 and      x264 output is bit-for-bit reproducible only with one
#   bitexact flags      thread; bitexact keeps the ffmpeg version out of the
#                       files, so a rerun with the same ffmpeg gives the
#                       same bytes.
set -euo pipefail

cd "$(dirname "$0")"
mkdir -p assets
rm -f assets/seg*.ts

ffmpeg -hide_banner -loglevel error -nostdin -y \
  -f lavfi -i "testsrc2=size=426x240:rate=24:duration=10" \
  -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=10" \
  -map 0:v -map 1:a -t 10 \
  -c:v libx264 -profile:v baseline -level:v 3.0 -pix_fmt yuv420p -preset medium \
  -b:v 150k -maxrate 150k -bufsize 150k \
  -g 24 -keyint_min 24 -sc_threshold 0 -force_key_frames "expr:gte(t,n_forced*1)" \
  -threads 1 \
  -c:a aac -b:a 48k -ac 1 -ar 48000 \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -f segment -segment_format mpegts -segment_time 1 -reset_timestamps 0 \
  assets/seg%03d.ts

ls -l assets/seg*.ts
