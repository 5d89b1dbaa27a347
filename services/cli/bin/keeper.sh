#!/bin/sh
# A service's keeper under `kemu up`: what Docker's restart policy is to a
# container. Started detached in place of the service, it runs the service's
# command as its child, in a process group of its own (so `kill -- -PID` of the
# recorded pid reaches the service and not the keeper), reaps it (no zombie,
# whoever pid 1 is) and, as the compose file's `restart:` says, starts it again
# when it exits, with Docker's back-off: 100 ms, doubling to a minute, back to
# 100 ms once the process ran 10 s. Each restart is a JSON line in the
# service's log (as the services' own pino lines, so `kemu logs` reads as one
# log) and counts in pids/<service>.restarts. A stop is never undone: SIGTERM
# (kemu stop) is passed to the process's group and the keeper ends with it; a
# stop marker file (a kill through kemu) makes it end when the process does.
#
# A shell script and not a node program: a dozen keepers start with a cluster,
# and node takes 0.15 s of CPU just to start, where sh takes a millisecond.
#
# Run: sh keeper.sh SERVICE RESTART PIDFILE RESTARTSFILE STOPPEDFILE FREEZER COMMAND...
#   RESTART   no | always | unless-stopped | on-failure[:MAX] (compose's, checked by the CLI)
#   FREEZER   a cgroup v1 freezer directory to run in with every descendant, or ""
service=$1 restart=$2 pidfile=$3 restartsfile=$4 stopped=$5 freezer=$6
shift 6

log() { # LEVEL MSG ,"more":"fields"
  printf '{"level":%s,"time":%s,"pid":%s,"name":"keeper","service":"%s"%s,"msg":"%s"}\n' "$1" "$(date +%s%3N)" $$ "$service" "$3" "$2"
}

case $restart in
on-failure:*) policy=on-failure max=${restart#on-failure:} ;;
*) policy=$restart max= ;;
esac

stopping=0 stopsig=TERM starting=0 child= sleeper=
on_signal() {
  stopping=1 stopsig=$1
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  if [ -n "$child" ]; then
    kill -s "$1" -- "-$child" 2>/dev/null || kill -s "$1" "$child" 2>/dev/null
  elif [ $starting = 0 ]; then
    exit 0
  fi # else forked but not yet known: signalled just after
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
# Caught, not ignored: an ignored signal would stay ignored in the service, a caught one is reset by exec.
trap : HUP

mkdir -p "$(dirname "$restartsfile")"
echo 0 >"$restartsfile"
# Into the freezer cgroup before anything starts: the service's processes, and theirs (a kubelet's pods), inherit it.
if [ -n "$freezer" ] && ! { mkdir -p "$freezer" && echo $$ >"$freezer/cgroup.procs"; } 2>/dev/null; then
  log 40 'no freezer cgroup; freezing falls back to SIGSTOP' ",\"dir\":\"$freezer\""
fi

restarts=0 delay=0
while :; do
  if [ $stopping = 1 ] || [ -e "$stopped" ]; then exit 0; fi
  started=$(date +%s%3N)
  # setsid: a session and process group of its own. Not a group leader here (no job control), so it does not fork,
  # and $! is the service's own pid (env execs too). sh starts a background command with SIGINT and SIGQUIT ignored:
  # env gives the service their default handling back, as a container's process has.
  starting=1
  setsid env --default-signal=INT,QUIT "$@" &
  child=$!
  starting=0
  echo $child >"$pidfile"
  [ $stopping = 1 ] && kill -s $stopsig -- "-$child" 2>/dev/null # a stop that came before $child was known
  while :; do
    wait $child
    code=$?
    # A trapped signal ends `wait` early (a status over 128) while the process runs on: wait again.
    [ $code -gt 128 ] && kill -0 $child 2>/dev/null && continue
    break
  done
  child=
  ran=$(($(date +%s%3N) - started))
  if [ $stopping = 1 ] || [ -e "$stopped" ]; then exit 0; fi
  sig=
  [ $code -gt 128 ] && [ $code -le 192 ] && sig=$(kill -l $((code - 128)) 2>/dev/null)
  if [ -n "$sig" ]; then
    fields=",\"code\":null,\"signal\":\"SIG$sig\",\"ranMs\":$ran"
  else
    fields=",\"code\":$code,\"signal\":null,\"ranMs\":$ran"
  fi
  case $policy in
  always | unless-stopped) again=1 ;;
  on-failure) again=$([ $code != 0 ] && { [ -z "$max" ] || [ $restarts -lt "$max" ]; } && echo 1 || echo 0) ;;
  *) again=0 ;;
  esac
  if [ $again = 0 ]; then
    log 40 'process exited; not restarted' "$fields,\"restart\":\"$restart\""
    exit 0
  fi
  if [ $ran -ge 10000 ] || [ $delay -le 0 ]; then delay=100; else delay=$((delay * 2)); fi
  [ $delay -gt 60000 ] && delay=60000
  restarts=$((restarts + 1))
  echo $restarts >"$restartsfile"
  log 40 'process exited; restarting' "$fields,\"restarts\":$restarts,\"delayMs\":$delay"
  sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))" &
  sleeper=$!
  wait $sleeper
  sleeper=
done
