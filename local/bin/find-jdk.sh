# Sourced by ./m31 and bench/run: sets JAVA_HOME to a JDK 21+ or explains how to get one.
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }

find_jdk() {
  local candidates=() j home v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for d in /usr/lib/jvm/*; do [ -d "$d" ] && candidates+=("$d"); done
  if j=$(command -v java 2>/dev/null); then candidates+=("$(dirname "$(dirname "$(readlink -f "$j")")")"); fi
  for home in "${candidates[@]}"; do
    if [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ]; then
      v=$(java_major "$home/bin/java")
      if [ -n "$v" ] && [ "$v" -ge 21 ]; then echo "$home"; return 0; fi
    fi
  done
  return 1
}

if ! JAVA_HOME=$(find_jdk); then
  echo "Andromeda needs a JDK 21 or newer. Install one (e.g. apt-get install openjdk-21-jdk) or set JAVA_HOME to it." >&2
  exit 1
fi
export JAVA_HOME
# Kafka's clients still use sun.misc.Unsafe, and Netty (the gateway) loads its native epoll
# transport with System.loadLibrary; JDK 24+ warns about both on every start unless allowed.
M31_JVM_FLAGS=""
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ]; then M31_JVM_FLAGS="--sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED"; fi
export M31_JVM_FLAGS
