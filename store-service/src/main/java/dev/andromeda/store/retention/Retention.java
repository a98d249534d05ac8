package dev.andromeda.store.retention;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What the store keeps of its bookkeeping, and the pruner that enforces it every
 * {@code m31.store.retention.interval}:
 * <ul>
 *   <li>{@code applied_batches} (idempotency records) for {@code m31.store.retention.batches}: a
 *       retry inside that window is still recognized and changes nothing; one after it is applied again;</li>
 *   <li>versions: the newest {@code m31.store.retention.versions.keep} per object and branch (0 = all,
 *       looking only at lines written since the last run: see {@link #pruneByCount}), and none older
 *       than {@code m31.store.retention.versions.max-age} (0 = no limit) — but never an object's or
 *       branch's newest version, nor a version a branch starts from (its merge base); what went is
 *       recorded in {@code version_horizons}, so reading it is a 410, not a 404;</li>
 *   <li>the change log for {@code m31.store.retention.changes}; how far each space was pruned is kept
 *       in {@code change_horizons}, and a watch asking for a point before it is a 410.</li>
 * </ul>
 * Replicas prune in turn: a run holds a transaction-scoped advisory lock, and one that finds it
 * taken does nothing.
 */
@Component
class Retention implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Retention.class);
    /** An arbitrary number naming the pruner's advisory lock. */
    static final long LOCK = 0x4d33315f70727565L;

    /** What to keep. A zero duration or count means no limit of that kind. */
    record Policy(Duration batches, int versionsKeep, Duration versionsMaxAge, Duration changes) {}

    private final JdbcClient jdbc;
    private final TransactionTemplate tx;
    private final Policy policy;
    private final Duration interval;
    private ScheduledExecutorService timer;

    Retention(JdbcClient jdbc, TransactionTemplate tx,
              @Value("${m31.store.retention.batches:7d}") Duration batches,
              @Value("${m31.store.retention.versions.keep:0}") int versionsKeep,
              @Value("${m31.store.retention.versions.max-age:0s}") Duration versionsMaxAge,
              @Value("${m31.store.retention.changes:7d}") Duration changes,
              @Value("${m31.store.retention.interval:10m}") Duration interval) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.policy = new Policy(batches, versionsKeep, versionsMaxAge, changes);
        this.interval = interval;
    }

    Policy policy() { return policy; }

    @Override
    public void start() {
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("store-pruner").factory());
        long every = Math.max(1000, interval.toMillis());
        timer.scheduleWithFixedDelay(() -> {
            try {
                Map<String, Integer> n = prune(policy, null);
                if (n.values().stream().anyMatch(c -> c > 0)) log.info("pruned {}", n);
            } catch (RuntimeException e) {
                log.warn("pruning failed: {}", e.toString());
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        if (timer != null) timer.shutdownNow();
        timer = null;
    }

    @Override
    public boolean isRunning() { return timer != null; }

    /**
     * One pruning run under {@code p}, over every space or only {@code space}; answers how many
     * rows went, by kind (empty when another replica was pruning).
     */
    Map<String, Integer> prune(Policy p, String space) {
        Map<String, Integer> out = new LinkedHashMap<>();
        tx.executeWithoutResult(status -> {
            if (!Boolean.TRUE.equals(jdbc.sql("select pg_try_advisory_xact_lock(?)").param(LOCK).query(Boolean.class).single())) return;
            String only = space == null ? "" : " and space = ?";
            if (!p.batches().isZero()) {
                out.put("batches", jdbc.sql("delete from applied_batches where applied_at < now() - ?::interval" + only)
                        .params(args(interval(p.batches()), space)).update());
            }
            if (!p.changes().isZero()) {
                // the deleted rows' latest time and seq per space become its horizon, in the same statement
                out.put("changes", jdbc.sql("with d as (delete from changes where at < now() - ?::interval" + only + " returning space, at, seq), "
                        + "h as (insert into change_horizons (space, before, seq) select space, max(at), max(seq) from d group by space "
                        + "on conflict (space) do update set before = greatest(change_horizons.before, excluded.before), "
                        + "seq = greatest(change_horizons.seq, excluded.seq)) select count(*) from d")
                        .params(args(interval(p.changes()), space)).query(Integer.class).single());
            }
            // a version that is some branch's base is how that branch merges: it stays
            String kept = " and not exists (select 1 from branches b where b.space = v.space and b.key = v.key and v.branch = '' and b.base = v.version)";
            int versions = 0;
            if (p.versionsKeep() > 0) versions += pruneByCount(p.versionsKeep(), space, kept);
            if (!p.versionsMaxAge().isZero()) {
                versions += jdbc.sql(recorded("delete from versions v where v.modified < now() - ?::interval" + only.replace("space", "v.space")
                                + " and v.version < (select max(w.version) from versions w where w.space = v.space and w.key = v.key and w.branch = v.branch)"
                                + kept))
                        .params(args(interval(p.versionsMaxAge()), space)).query(Integer.class).single();
            }
            if (p.versionsKeep() > 0 || !p.versionsMaxAge().isZero()) out.put("versions", versions);
        });
        return out;
    }

    /** One line of versions: an object's main line (branch '') or one of its branches. */
    record Line(String space, String key, String branch) {}

    static final int LINES = 1000;

    /**
     * Keeps the newest {@code keep} versions of the lines that may have more: those written
     * since the last run under the same {@code keep} (the {@code versions_modified} index), and
     * the main lines whose branch was deleted since (its merge base may go now; from the change
     * log). The first run, or one with another {@code keep}, walks every line in primary-key
     * order, {@value #LINES} at a time. Each delete covers {@value #LINES} lines and finds each
     * line's cut with one index probe, so a run costs what was written since the last one, not the
     * size of the table.
     *
     * <p>The next run starts from the start of the oldest transaction running now, not from now:
     * a version's {@code modified} is its transaction's start ({@code now()}), and a transaction
     * still running now commits its versions after this run has looked.
     */
    private int pruneByCount(int keep, String space, String kept) {
        String scope = space == null ? "" : space;
        OffsetDateTime next = jdbc.sql("select least(now(), min(xact_start)) from pg_stat_activity "
                        + "where datname = current_database() and xact_start is not null")
                .query(OffsetDateTime.class).single();
        var mark = jdbc.sql("select keep, since from retention_marks where space = ?").param(scope)
                .query((rs, n) -> rs.getInt("keep") == keep ? rs.getObject("since", OffsetDateTime.class) : null)
                .optional();
        String only = space == null ? "" : " and space = ?";
        String delete = recorded("delete from versions v using (select l.space, l.key, l.branch, c.version "
                + "from unnest(?::text[], ?::text[], ?::text[]) as l(space, key, branch) cross join lateral "
                + "(select w.version from versions w where w.space = l.space and w.key = l.key and w.branch = l.branch "
                + "order by w.version desc offset ? limit 1) c) r "
                + "where v.space = r.space and v.key = r.key and v.branch = r.branch and v.version <= r.version" + kept);
        int n = 0;
        if (mark.isPresent() && mark.get() != null) {
            OffsetDateTime since = mark.get();
            List<Line> lines = jdbc.sql("select space, key, branch from versions where modified >= ?" + only
                            + " union select space, keys[1], '' from changes where at >= ? and op = 'delete' and ref is not null" + only)
                    .params(space == null ? List.of(since, since) : List.of(since, space, since, space))
                    .query((rs, i) -> new Line(rs.getString(1), rs.getString(2), rs.getString(3))).list();
            for (int from = 0; from < lines.size(); from += LINES) n += deleteBeyond(delete, keep, lines.subList(from, Math.min(lines.size(), from + LINES)));
        } else {
            Line after = new Line("", "", "");
            while (true) {
                List<Object> args = new ArrayList<>(List.of(after.space(), after.key(), after.branch()));
                if (space != null) args.add(space);
                args.add(LINES);
                List<Line> lines = jdbc.sql("select distinct space, key, branch from versions where (space, key, branch) > (?, ?, ?)" + only
                                + " order by space, key, branch limit ?")
                        .params(args).query((rs, i) -> new Line(rs.getString(1), rs.getString(2), rs.getString(3))).list();
                if (lines.isEmpty()) break;
                n += deleteBeyond(delete, keep, lines);
                if (lines.size() < LINES) break;
                after = lines.getLast();
            }
        }
        jdbc.sql("insert into retention_marks (space, keep, since) values (?, ?, ?) "
                        + "on conflict (space) do update set keep = excluded.keep, since = excluded.since")
                .params(scope, keep, next).update();
        return n;
    }

    private int deleteBeyond(String delete, int keep, List<Line> lines) {
        String[] s = new String[lines.size()], k = new String[lines.size()], b = new String[lines.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = lines.get(i).space();
            k[i] = lines.get(i).key();
            b[i] = lines.get(i).branch();
        }
        return jdbc.sql(delete).params(s, k, b, keep).query(Integer.class).single();
    }

    /**
     * A delete of versions (aliased v) that also records, in the same statement, which versions of
     * each line went ({@code version_horizons}): a read of one of them is then a 410, not a 404.
     * Answers the count.
     */
    static String recorded(String delete) {
        return "with d as (" + delete + " returning v.space, v.key, v.branch, v.version), "
                + "h as (insert into version_horizons (space, key, branch, pruned, at) "
                + "select space, key, branch, range_agg(int8range(version, version, '[]')), now() from d group by space, key, branch "
                + "on conflict (space, key, branch) do update set pruned = version_horizons.pruned + excluded.pruned, at = excluded.at) "
                + "select count(*)::int from d";
    }

    private static String interval(Duration d) {
        return d.toMillis() + " milliseconds";
    }

    private static List<Object> args(Object first, String space) {
        List<Object> a = new ArrayList<>();
        a.add(first);
        if (space != null) a.add(space);
        return a;
    }

}
