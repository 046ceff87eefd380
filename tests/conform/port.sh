#!/bin/sh
# A port for the tests of `softobj conform`: the oracle itself (`softobj eval`) with one bug
# planted, chosen by name.
#   port.sh SOFTOBJ BUG CASE ANSWER
# BUG: none; focal (lobj halved when hyp.fl_gamma is 1.5); crash (a Python-like exception
# when nc is 1); hang (sleeps past any timeout when autobalance is on); garbage (an answer
# that is not JSON when ciou is v7.0).
softobj=$1 bug=$2 case=$3 answer=$4
has() { grep -q "$1" "$case"; }
case $bug in
  focal)
    if has '"fl_gamma":1.5'; then
      "$softobj" eval "$case" | sed 's/"lobj":[^,]*/"lobj":0.5/' > "$answer"
      exit 0
    fi ;;
  crash)
    if has '"nc":1[,}]'; then
      echo "Traceback (most recent call last):" >&2
      echo "IndexError: index 1 is out of bounds for axis 0 with size 1" >&2
      exit 1
    fi ;;
  hang)
    if has '"autobalance":true'; then
      sleep 30
    fi ;;
  garbage)
    if has '"ciou":"v7.0"'; then
      echo "not an answer" > "$answer"
      exit 0
    fi ;;
esac
exec "$softobj" eval "$case" > "$answer"
