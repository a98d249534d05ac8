package dev.andromeda.store.feed;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.store.space.SpaceType;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import tools.jackson.databind.json.JsonMapper;

/**
 * The change feed of spaces ({@code GET /fs/{space}?watch=true}). Every write appends a row to
 * {@code changes} and calls {@code pg_notify} in its own transaction; watchers read the table by
 * position and sleep between reads until a notification for their space arrives on the one
 * listener connection of this process (no pooled connection is held while a watcher waits).
 *
 * <p>Sequence numbers are handed out before commit, so a reader going by {@code seq} alone could
 * pass a row whose transaction commits later. Readers therefore order by (xid, seq) and read only
 * rows of transactions older than every transaction still running ({@code pg_snapshot_xmin}):
 * those are all settled, and any row that appears later has a larger xid, so nothing is skipped
 * between the catch-up read and the live tail, or across a reconnect.
 */
@Service
public class ChangeFeed implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ChangeFeed.class);
    public static final String CHANNEL = "m31_store";
    static final int BATCH = 1000;
    /** Without a notification a watcher still looks this often (a transaction of another schema may hold xmin back). */
    static final long POLL_MILLIS = 1000;
    static final long HEARTBEAT_MILLIS = 10_000;

    private final JdbcTemplate jdbc;
    private final JsonMapper json;
    private final String url, user, password;
    private final Map<String, Signal> signals = new ConcurrentHashMap<>();
    private volatile boolean running;
    private volatile Connection listener;
    private Thread thread;

    ChangeFeed(JdbcTemplate jdbc, JsonMapper json,
               @Value("${spring.datasource.url}") String url,
               @Value("${spring.datasource.username:}") String user,
               @Value("${spring.datasource.password:}") String password) {
        this.jdbc = jdbc;
        this.json = json;
        this.url = url;
        this.user = user;
        this.password = password;
    }

    /** A space's wake-up: a counter watchers wait on. */
    private static final class Signal {
        final AtomicLong count = new AtomicLong();

        synchronized void fire() {
            count.incrementAndGet();
            notifyAll();
        }

        synchronized void await(long seen, long millis) throws InterruptedException {
            if (count.get() == seen) wait(millis);
        }
    }

    private Signal signal(String space) {
        return signals.computeIfAbsent(space, s -> new Signal());
    }

    @Override
    public void start() {
        running = true;
        thread = Thread.ofPlatform().daemon().name("store-change-listener").start(this::listen);
    }

    @Override
    public void stop() {
        running = false;
        // watchers end now, not at the next failed heartbeat: a graceful shutdown would wait for them
        signals.values().forEach(Signal::fire);
        Connection c = listener;
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing anyway
            }
        }
        if (thread != null) thread.interrupt();
    }

    @PreDestroy
    void close() {
        stop();
    }

    @Override
    public boolean isRunning() { return running; }

    /** The listener: one connection of its own, outside the pool; reconnects after failures. */
    private void listen() {
        while (running) {
            try (Connection c = DriverManager.getConnection(url, user, password)) {
                listener = c;
                try (Statement st = c.createStatement()) {
                    st.execute("listen " + CHANNEL);
                }
                PGConnection pg = c.unwrap(PGConnection.class);
                // a notification may have been missed while (re)connecting: wake everyone once
                signals.values().forEach(Signal::fire);
                while (running) {
                    PGNotification[] ns = pg.getNotifications(1000);
                    if (ns != null) {
                        for (PGNotification n : ns) {
                            Signal s = signals.get(n.getParameter());
                            if (s != null) s.fire();
                        }
                    }
                }
            } catch (Exception e) {
                if (!running) return;
                log.warn("change listener: {}; reconnecting", e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Where a watch starts: after a change (seq), at a time, or now. */
    public record Start(Long after, OffsetDateTime since) {}

    /**
     * Writes every change of the space from {@code start} as NDJSON, then waits for new ones, until
     * the client goes away (a write fails) or the thread is interrupted.
     */
    public void watch(SpaceType t, Start start, OutputStream out, Runnable beforeFirstByte) throws IOException {
        long xid, seq;
        // a point the pruner (see Retention) already passed: changes after it may be gone
        var horizon = jdbc.query("select before, seq from change_horizons where space = ?",
                (rs, n) -> new Object[] {rs.getObject(1, OffsetDateTime.class), rs.getLong(2)}, t.name());
        if (!horizon.isEmpty()) {
            OffsetDateTime before = (OffsetDateTime) horizon.get(0)[0];
            long prunedSeq = (Long) horizon.get(0)[1];
            if (start.after() != null && start.after() <= prunedSeq) {
                throw M31Problem.gone("change " + start.after() + " is no longer kept (changes up to " + prunedSeq + " were pruned); start again from a later time");
            }
            if (start.since() != null && !start.since().isAfter(before)) {
                throw M31Problem.gone("changes up to " + before + " are no longer kept; watch since a later time");
            }
        }
        if (start.after() != null) {
            List<Long> x = jdbc.queryForList("select xid from changes where space = ? and seq = ?", Long.class, t.name(), start.after());
            if (x.isEmpty()) {
                Long min = jdbc.queryForObject("select min(seq) from changes where space = ?", Long.class, t.name());
                if (min == null || start.after() < min) throw M31Problem.gone("change " + start.after() + " is no longer kept; start again from a time");
                throw M31Problem.badRequest("after", "no change " + start.after() + " of space " + t.name());
            }
            xid = x.get(0);
            seq = start.after();
        } else if (start.since() != null) {
            xid = Long.MIN_VALUE;
            seq = Long.MIN_VALUE;
        } else {
            // now: whatever settles from here on (transactions running now count as after)
            xid = jdbc.queryForObject("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint", Long.class) - 1;
            seq = Long.MAX_VALUE;
        }
        beforeFirstByte.run();
        Signal signal = signal(t.name());
        long quietSince = System.currentTimeMillis();
        while (running && !Thread.currentThread().isInterrupted()) {
            long seen = signal.count.get();
            List<Map<String, Object>> rows = jdbc.queryForList(
                    "select seq, xid, at, op, keys, body::text as body, ref from changes "
                            + "where space = ? and (xid, seq) > (?, ?) and xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
                            + (start.since() == null ? "" : " and at >= ?") + " order by xid, seq limit " + BATCH,
                    start.since() == null ? new Object[] {t.name(), xid, seq} : new Object[] {t.name(), xid, seq, start.since()});
            for (Map<String, Object> r : rows) {
                write(t, r, out);
                xid = ((Number) r.get("xid")).longValue();
                seq = ((Number) r.get("seq")).longValue();
            }
            if (!rows.isEmpty()) {
                out.flush();
                quietSince = System.currentTimeMillis();
            }
            if (rows.size() == BATCH) continue;
            if (System.currentTimeMillis() - quietSince > HEARTBEAT_MILLIS) {
                out.write('\n'); // an empty line: how a watcher notices its client has gone while nothing changes
                out.flush();
                quietSince = System.currentTimeMillis();
            }
            try {
                signal.await(seen, POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void write(SpaceType t, Map<String, Object> r, OutputStream out) throws IOException {
        String op = (String) r.get("op");
        String[] keys = keys(r.get("keys"));
        Map<String, Object> body = r.get("body") == null ? Map.of() : json.readValue((String) r.get("body"), SpaceType.OBJECT_MAP);
        Map<String, Map<String, Object>> current = Map.of();
        if (op.equals("invoke")) current = current(t, keys);
        StringBuilder sb = new StringBuilder();
        for (String k : keys) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("seq", r.get("seq"));
            line.put("op", op);
            line.put("key", k);
            Map<String, Object> state = op.equals("invoke") ? current.get(k) : body;
            if (state != null) {
                if (state.get("version") != null) line.put("version", state.get("version"));
                if (state.get("attrs") != null) line.put("attrs", state.get("attrs"));
                if (state.get("labels") != null) line.put("labels", state.get("labels"));
            }
            if (op.equals("invoke")) line.put("batchId", r.get("ref"));
            else if (r.get("ref") != null) line.put("branch", r.get("ref"));
            line.put("at", rfc3339(r.get("at")));
            sb.append(json.writeValueAsString(line)).append('\n');
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * When a change was made, as every other time in the API is written (RFC 3339, UTC). A
     * timestamp's own text is the JVM's local time without an offset ("2026-11-28 02:30:18.9"):
     * another instant on a machine in another time zone, and not what a client parses.
     */
    static String rfc3339(Object at) {
        if (at instanceof java.sql.Timestamp ts) return ts.toInstant().toString();
        if (at instanceof java.time.OffsetDateTime odt) return odt.toInstant().toString();
        if (at instanceof java.time.Instant i) return i.toString();
        return at == null ? null : String.valueOf(at);
    }

    /** The keys of an invocation chunk as they are now (the feed tells which keys a batch changed). */
    private Map<String, Map<String, Object>> current(SpaceType t, String[] keys) {
        Map<String, Map<String, Object>> m = new HashMap<>();
        jdbc.query("select key, (attrs || jsonb_build_object(" + SpaceType.lit(t.keyAttr()) + ", key))::text as attrs, labels::text as labels, version from "
                + t.table() + " where key = any(?)", rs -> {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("version", rs.getLong("version"));
            s.put("attrs", json.readValue(rs.getString("attrs"), SpaceType.OBJECT_MAP));
            s.put("labels", json.readValue(rs.getString("labels"), SpaceType.STRING_MAP));
            m.put(rs.getString("key"), s);
        }, (Object) keys);
        return m;
    }

    private static String[] keys(Object o) {
        try {
            if (o instanceof Array a) return (String[]) a.getArray();
            if (o instanceof String[] s) return s;
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        List<String> l = new ArrayList<>();
        if (o instanceof Object[] arr) for (Object x : arr) l.add(String.valueOf(x));
        return l.toArray(new String[0]);
    }
}
