package dev.andromeda.store.versions;

import dev.andromeda.api.model.Branch;
import dev.andromeda.api.model.InvokeResult;
import dev.andromeda.api.model.ObjectWrite;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.api.model.Version;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Access;
import dev.andromeda.store.feed.ChangeFeed;
import dev.andromeda.store.invoke.Invoker;
import dev.andromeda.store.objects.ObjectStore;
import dev.andromeda.store.query.SpaceQuery;
import dev.andromeda.store.space.AttrType;
import dev.andromeda.store.space.SpaceType;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * Versions and branches of the objects of versioned spaces. The main line's versions are kept by
 * a trigger on the space's table (table {@code versions}, branch ''); a branch is a row of
 * {@code branches} (its current state and the main-line version it starts from) plus its own
 * versions. Branch versions are numbered above the branch point, so a (branch, version) names
 * one state and a version at or below the base is the main line's.
 */
@Service
public class VersionStore {

    static final Pattern BRANCH = Pattern.compile("^[A-Za-z0-9_-]{1,63}$");

    private final JdbcClient jdbc;
    private final TransactionTemplate tx;
    private final JsonMapper json;
    private final ObjectStore objects;

    VersionStore(JdbcClient jdbc, TransactionTemplate tx, JsonMapper json, ObjectStore objects) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.json = json;
        this.objects = objects;
    }

    /** A merge that would overwrite a change on each side: one entry per attribute or label.<name>. */
    public static final class Conflict extends RuntimeException {
        public final List<Map<String, Object>> conflicts;

        Conflict(List<Map<String, Object>> conflicts) {
            super("the branch and the main line changed the same attributes differently", null, false, false);
            this.conflicts = conflicts;
        }
    }

    static void requireVersioning(SpaceType t, String field) {
        if (!t.versioning()) {
            throw M31Problem.badRequest(field, "space " + t.name() + " keeps no versions (make it with opts.versioning: true)");
        }
    }

    static void checkBranch(String b) {
        if (b == null || !BRANCH.matcher(b).matches()) throw M31Problem.badRequest("branch", "a branch name is 1-63 of [A-Za-z0-9_-]");
    }

    private record State(Map<String, Object> attrs, Map<String, String> labels, long version, long base, OffsetDateTime modified) {}

    private State state(ResultSet rs, boolean withBase) throws SQLException {
        return new State(json.readValue(rs.getString("attrs"), SpaceType.OBJECT_MAP), json.readValue(rs.getString("labels"), SpaceType.STRING_MAP),
                rs.getLong("version"), withBase ? rs.getLong("base") : 0, rs.getObject("modified", OffsetDateTime.class));
    }

    private StoredObject view(SpaceType t, String key, String branch, State s) {
        StoredObject o = new StoredObject();
        o.setKey(key);
        Map<String, Object> attrs = new LinkedHashMap<>(s.attrs());
        attrs.put(t.keyAttr(), key);
        o.setAttrs(attrs);
        o.setLabels(new LinkedHashMap<>(s.labels()));
        o.setVersion(s.version());
        o.setModified(s.modified());
        if (branch != null && !branch.isEmpty()) o.setBranch(branch);
        return o;
    }

    private State branchRow(SpaceType t, String key, String b, boolean lock) {
        return jdbc.sql("select attrs::text as attrs, labels::text as labels, version, base, modified from branches "
                        + "where space = ? and key = ? and name = ?" + (lock ? " for update" : ""))
                .params(t.name(), key, b).query((rs, n) -> state(rs, true)).optional()
                .orElseThrow(() -> M31Problem.notFound("no branch " + b + " of " + SpaceType.abbreviate(key) + " in space " + t.name()));
    }

    private java.util.Optional<State> history(SpaceType t, String key, String branch, long version) {
        return jdbc.sql("select attrs::text as attrs, labels::text as labels, version, modified from versions "
                        + "where space = ? and key = ? and branch = ? and version = ?")
                .params(t.name(), key, branch, version).query((rs, n) -> state(rs, false)).optional();
    }

    /**
     * Why a version is not there: 410 when the pruner removed it (with how far that line was
     * pruned, and when), else 404 — the version never existed.
     */
    private M31Problem missing(SpaceType t, String key, String branch, long version, String notFound) {
        return jdbc.sql("select upper(pruned) - 1 as through, at from version_horizons "
                        + "where space = ? and key = ? and branch = ? and pruned @> ?::bigint")
                .params(t.name(), key, branch, version)
                .query((rs, n) -> {
                    long through = rs.getLong("through");
                    OffsetDateTime at = rs.getObject("at", OffsetDateTime.class);
                    M31Problem gone = new Pruned("version " + version + (branch.isEmpty() ? "" : " on branch " + branch) + " of "
                            + SpaceType.abbreviate(key) + " was pruned by the retention policy (this line is pruned through version "
                            + through + ", last at " + at + ")", through, at);
                    return (M31Problem) gone;
                })
                .optional().orElseGet(() -> M31Problem.notFound(notFound));
    }

    /** A 410 for a pruned version: the problem carries the line's horizon (prunedThrough, prunedAt). */
    public static final class Pruned extends M31Problem {
        public final long through;
        public final OffsetDateTime at;

        Pruned(String detail, long through, OffsetDateTime at) {
            super(410, "gone", detail, "version");
            this.through = through;
            this.at = at;
        }
    }

    /** An object at a version and/or on a branch. */
    public StoredObject read(SpaceType t, String key, String branch, Long version) {
        ObjectStore.checkKey(key);
        requireVersioning(t, branch != null ? "branch" : "version");
        if (branch == null) {
            return history(t, key, "", version).map(s -> view(t, key, null, s))
                    .orElseThrow(() -> missing(t, key, "", version, "no version " + version + " of " + SpaceType.abbreviate(key) + " in space " + t.name()));
        }
        checkBranch(branch);
        State b = branchRow(t, key, branch, false);
        if (version == null || version == b.version()) return view(t, key, branch, b);
        var s = history(t, key, branch, version);
        boolean before = s.isEmpty() && version <= b.base(); // before the branch point: the main line's
        if (before) s = history(t, key, "", version);
        return s.map(x -> view(t, key, branch, x))
                .orElseThrow(() -> missing(t, key, before ? "" : branch, version,
                        "no version " + version + " on branch " + branch + " of " + SpaceType.abbreviate(key)));
    }

    public List<Version> versions(SpaceType t, String key, String branch) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "versions");
        if (branch != null) checkBranch(branch);
        List<Version> out = jdbc.sql("select branch, version, parent, parent_branch, modified from versions where space = ? and key = ?"
                        + (branch == null ? "" : " and branch = ?") + " order by modified desc, version desc, branch")
                .params(branch == null ? List.of(t.name(), key) : List.of(t.name(), key, branch))
                .query((rs, n) -> {
                    Version v = new Version();
                    v.setVersion(rs.getLong("version"));
                    if (!rs.getString("branch").isEmpty()) v.setBranch(rs.getString("branch"));
                    long p = rs.getLong("parent");
                    if (!rs.wasNull()) {
                        v.setParent(p);
                        String pb = rs.getString("parent_branch");
                        if (pb != null && !pb.isEmpty()) v.setParentBranch(pb);
                    }
                    v.setModified(rs.getObject("modified", OffsetDateTime.class));
                    return v;
                }).list();
        if (out.isEmpty() && !objects.exists(t, key)) throw M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name());
        return out;
    }

    public Branch branch(SpaceType t, String key, String name, Long from) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "branch");
        checkBranch(name);
        return tx.execute(status -> {
            long at = from != null ? from : jdbc.sql("select version from " + t.table() + " where key = ?").param(key)
                    .query(Long.class).optional()
                    .orElseThrow(() -> M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name()));
            State s = history(t, key, "", at).orElseThrow(() -> missing(t, key, "", at, "no version " + at + " of "
                    + SpaceType.abbreviate(key) + " in space " + t.name()));
            try {
                jdbc.sql("insert into branches (space, key, name, base, attrs, labels, version, modified) "
                                + "values (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?)")
                        .params(t.name(), key, name, at, json.writeValueAsString(s.attrs()), json.writeValueAsString(s.labels()), at, s.modified())
                        .update();
            } catch (DuplicateKeyException e) {
                throw M31Problem.conflict("branch " + name + " of " + SpaceType.abbreviate(key) + " exists");
            }
            return toBranch(name, at, at, s.modified());
        });
    }

    public List<Branch> branches(SpaceType t, String key) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "branch");
        List<Branch> out = jdbc.sql("select name, base, version, modified from branches where space = ? and key = ? order by name")
                .params(t.name(), key)
                .query((rs, n) -> toBranch(rs.getString("name"), rs.getLong("base"), rs.getLong("version"),
                        rs.getObject("modified", OffsetDateTime.class))).list();
        if (out.isEmpty() && !objects.exists(t, key)) throw M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name());
        return out;
    }

    private static Branch toBranch(String name, long base, long version, OffsetDateTime modified) {
        Branch b = new Branch();
        b.setName(name);
        b.setBase(base);
        b.setVersion(version);
        b.setModified(modified);
        return b;
    }

    /** A write on a branch: a new branch version over the current one. */
    public StoredObject put(SpaceType t, String key, String branch, ObjectWrite body, Long ifMatch) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "branch");
        checkBranch(branch);
        Map<String, Object> attrs = objects.checkAttrs(t, key, body.getAttrs());
        Map<String, String> labels = objects.checkLabels(t, body.getLabels());
        return tx.execute(status -> {
            State b = branchRow(t, key, branch, true);
            if (ifMatch != null && ifMatch != b.version()) throw ObjectStore.preconditionFailed("branch " + branch + " is not at version " + ifMatch);
            // as on the main line: access labels change only when named (a merge would carry a drop)
            Map<String, String> kept = new TreeMap<>(labels);
            b.labels().forEach((k, v) -> {
                if (Access.PROTECTED_LABELS.contains(k)) kept.putIfAbsent(k, v);
            });
            State next = writeBranch(t, key, branch, b, attrs, kept);
            record(t, "branch", key, next, branch);
            return view(t, key, branch, next);
        });
    }

    /** Labels set and removed on a branch: a new branch version with the same attributes. */
    public StoredObject patchLabels(SpaceType t, String key, String branch, ObjectStore.LabelChange change, Long ifMatch) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "branch");
        checkBranch(branch);
        return tx.execute(status -> {
            State b = branchRow(t, key, branch, true);
            if (ifMatch != null && ifMatch != b.version()) throw ObjectStore.preconditionFailed("branch " + branch + " is not at version " + ifMatch);
            Map<String, String> labels = new TreeMap<>(b.labels());
            change.remove().forEach(labels::remove);
            labels.putAll(change.set());
            State next = writeBranch(t, key, branch, b, b.attrs(), labels);
            record(t, "labels", key, next, branch);
            return view(t, key, branch, next);
        });
    }

    /**
     * Atomic operations on a branch: applied to the branch's state (a new branch version), with
     * the batch id recorded in the same transaction, so a retry changes nothing.
     */
    public StoredObject invoke(SpaceType t, String key, String branch, Invoker.Combiner c, String batchId) {
        requireVersioning(t, "branch");
        checkBranch(branch);
        return tx.execute(status -> {
            State b = branchRow(t, key, branch, true);
            int fresh = jdbc.sql("insert into applied_batches (space, batch_id, applied_at) values (?, ?, now()) on conflict do nothing")
                    .params(t.name(), batchId).update();
            Invoker.Acc[] accs = c.accs(key);
            if (fresh == 0 || accs == null) return view(t, key, branch, b);
            State next = writeBranch(t, key, branch, b, Invoker.applyTo(c, accs, b.attrs()), b.labels());
            record(t, "branch", key, next, branch);
            return view(t, key, branch, next);
        });
    }

    /**
     * A batch on branch {@code branch} of each of its keys: every key's branch state gets the
     * combined operations (computed in memory as for one key) and a new branch version, all in
     * one transaction with the batch id, so the batch applies whole or not at all and a retry
     * changes nothing. A key without that branch is a 404 and nothing is applied.
     */
    public InvokeResult invokeBatch(SpaceType t, String branch, Invoker.Combiner c, String batchId) {
        requireVersioning(t, "branch");
        checkBranch(branch);
        String[] keys = c.keys().toArray(new String[0]);
        java.util.Arrays.sort(keys); // one lock order, as on the main line
        Boolean applied = tx.execute(status -> {
            // the branches first, locked: a batch that names a key without the branch fails before anything is written
            Map<String, State> states = new java.util.HashMap<>();
            for (int from = 0; from < keys.length; from += Invoker.CHUNK) {
                String[] chunk = java.util.Arrays.copyOfRange(keys, from, Math.min(keys.length, from + Invoker.CHUNK));
                jdbc.sql("select key, attrs::text as attrs, labels::text as labels, version, base, modified from branches "
                                + "where space = ? and name = ? and key = any(?) order by key for update")
                        .params(t.name(), branch, chunk)
                        .query((rs, n) -> states.put(rs.getString("key"), state(rs, true))).list();
            }
            for (String k : keys) {
                if (!states.containsKey(k)) {
                    throw M31Problem.notFound("no branch " + branch + " of " + SpaceType.abbreviate(k) + " in space " + t.name());
                }
            }
            int fresh = jdbc.sql("insert into applied_batches (space, batch_id, applied_at) values (?, ?, now()) on conflict do nothing")
                    .params(t.name(), batchId).update();
            if (fresh == 0) return false;
            for (int from = 0; from < keys.length; from += Invoker.CHUNK) {
                int to = Math.min(keys.length, from + Invoker.CHUNK), n = to - from;
                String[] ks = new String[n], attrs = new String[n], labels = new String[n], parentBranch = new String[n], bodies = new String[n];
                Long[] version = new Long[n], parent = new Long[n];
                for (int i = 0; i < n; i++) {
                    String k = keys[from + i];
                    State b = states.get(k);
                    Map<String, Object> after = Invoker.applyTo(c, c.accs(k), b.attrs());
                    ks[i] = k;
                    attrs[i] = json.writeValueAsString(after);
                    labels[i] = json.writeValueAsString(b.labels());
                    version[i] = Math.max(b.version(), b.base()) + 1;
                    parent[i] = b.version();
                    parentBranch[i] = b.version() == b.base() ? "" : branch;
                    Map<String, Object> shown = new LinkedHashMap<>(after);
                    shown.put(t.keyAttr(), k);
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("version", version[i]);
                    body.put("attrs", shown);
                    body.put("labels", b.labels());
                    bodies[i] = json.writeValueAsString(body);
                }
                // now() is the transaction's time: the branch rows, their versions and the changes agree on it
                jdbc.sql("update branches b set attrs = u.a::jsonb, version = u.v, modified = now() "
                                + "from unnest(?::text[], ?::text[], ?::bigint[]) as u(k, a, v) "
                                + "where b.space = ? and b.name = ? and b.key = u.k")
                        .params(ks, attrs, version, t.name(), branch).update();
                jdbc.sql("insert into versions (space, key, branch, version, parent, parent_branch, attrs, labels, modified) "
                                + "select ?, u.k, ?, u.v, u.p, u.pb, u.a::jsonb, u.l::jsonb, now() "
                                + "from unnest(?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[]) as u(k, v, p, pb, a, l)")
                        .params(t.name(), branch, ks, version, parent, parentBranch, attrs, labels).update();
                jdbc.sql("insert into changes (space, op, keys, body, ref) "
                                + "select ?, 'branch', array[u.k], u.b::jsonb, ? from unnest(?::text[], ?::text[]) with ordinality as u(k, b, o) order by o")
                        .params(t.name(), branch, ks, bodies).update();
            }
            if (keys.length > 0) jdbc.sql("select pg_notify(?, ?)").params(ChangeFeed.CHANNEL, t.name()).query((rs, n) -> 1).list();
            return true;
        });
        InvokeResult r = new InvokeResult();
        r.setBatchId(batchId);
        r.setApplied(Boolean.TRUE.equals(applied));
        r.setKeys(keys.length);
        return r;
    }

    /** Removes a branch and its own versions; the main line keeps everything. */
    public void deleteBranch(SpaceType t, String key, String branch) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "branch");
        checkBranch(branch);
        tx.executeWithoutResult(status -> {
            int n = jdbc.sql("delete from branches where space = ? and key = ? and name = ?").params(t.name(), key, branch).update();
            if (n == 0) throw M31Problem.notFound("no branch " + branch + " of " + SpaceType.abbreviate(key) + " in space " + t.name());
            jdbc.sql("delete from versions where space = ? and key = ? and branch = ?").params(t.name(), key, branch).update();
            jdbc.sql("delete from version_horizons where space = ? and key = ? and branch = ?").params(t.name(), key, branch).update();
            jdbc.sql("insert into changes (space, op, keys, ref) values (?, 'delete', ?, ?)")
                    .params(t.name(), new String[] {key}, branch).update();
            jdbc.sql("select pg_notify(?, ?)").params(ChangeFeed.CHANNEL, t.name()).query((rs, n2) -> 1).list();
        });
    }

    private State writeBranch(SpaceType t, String key, String branch, State b, Map<String, Object> attrs, Map<String, String> labels) {
        long v = Math.max(b.version(), b.base()) + 1;
        boolean fromMain = b.version() == b.base(); // nothing written on the branch since it started (or was merged)
        String a = json.writeValueAsString(attrs), l = json.writeValueAsString(labels);
        OffsetDateTime now = jdbc.sql("update branches set attrs = ?::jsonb, labels = ?::jsonb, version = ?, modified = now() "
                        + "where space = ? and key = ? and name = ? returning modified")
                .params(a, l, v, t.name(), key, branch).query(OffsetDateTime.class).single();
        jdbc.sql("insert into versions (space, key, branch, version, parent, parent_branch, attrs, labels, modified) "
                        + "values (?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?)")
                .params(t.name(), key, branch, v, b.version(), fromMain ? "" : branch, a, l, now).update();
        return new State(attrs, labels, v, b.base(), now);
    }

    private void record(SpaceType t, String op, String key, State s, String ref) {
        Map<String, Object> attrs = new LinkedHashMap<>(s.attrs());
        attrs.put(t.keyAttr(), key);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("version", s.version());
        body.put("attrs", attrs);
        body.put("labels", s.labels());
        jdbc.sql("insert into changes (space, op, keys, body, ref) values (?, ?, ?, ?::jsonb, ?)")
                .params(t.name(), op, new String[] {key}, json.writeValueAsString(body), ref).update();
        jdbc.sql("select pg_notify(?, ?)").params(ChangeFeed.CHANNEL, t.name()).query((rs, n) -> 1).list();
    }

    /**
     * Three-way merge of a branch into the main line against the branch point: a value changed
     * on one side only takes that side's; changed on both to different values is a conflict
     * (409, nothing written). A clean merge writes the main line (a new version, whose parent is
     * the main line's) and moves the branch to the merged state, based on that version.
     */
    public StoredObject merge(SpaceType t, String key, String branch) {
        ObjectStore.checkKey(key);
        requireVersioning(t, "branch");
        checkBranch(branch);
        return tx.execute(status -> {
            State main = jdbc.sql("select attrs::text as attrs, labels::text as labels, version, modified from " + t.table()
                            + " where key = ? for update")
                    .param(key).query((rs, n) -> state(rs, false)).optional()
                    .orElseThrow(() -> M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name()));
            State b = branchRow(t, key, branch, true);
            State base = history(t, key, "", b.base()).orElseThrow(() -> M31Problem.gone("the branch point (version " + b.base() + ") is no longer kept"));
            List<Map<String, Object>> conflicts = new ArrayList<>();
            Map<String, Object> attrs = threeWay(base.attrs(), main.attrs(), b.attrs(), "", conflicts);
            Map<String, Object> labels = threeWay(new TreeMap<>(base.labels()), new TreeMap<>(main.labels()),
                    new TreeMap<>(b.labels()), "label.", conflicts);
            if (!conflicts.isEmpty()) throw new Conflict(conflicts);
            Map<String, String> l = new TreeMap<>();
            labels.forEach((k, v) -> l.put(k, (String) v));
            String a = json.writeValueAsString(attrs), ls = json.writeValueAsString(l);
            StoredObject merged = jdbc.sql("with w as (update " + t.table() + " set attrs = ?::jsonb, labels = ?::jsonb, version = version + 1, "
                            + "modified = now() where key = ? returning key, attrs, labels, version, modified) "
                            + "select " + SpaceQuery.columns(t) + " from w")
                    .params(a, ls, key).query((rs, n) -> objects.map(rs)).single();
            State now = new State(attrs, l, merged.getVersion(), merged.getVersion(), merged.getModified());
            record(t, "merge", key, now, branch);
            // the branch goes on from the merged state, so its next merge is against it
            long v = Math.max(b.version(), merged.getVersion()) + 1;
            jdbc.sql("update branches set attrs = ?::jsonb, labels = ?::jsonb, base = ?, version = ?, modified = now() "
                            + "where space = ? and key = ? and name = ?")
                    .params(a, ls, merged.getVersion(), v, t.name(), key, branch).update();
            jdbc.sql("insert into versions (space, key, branch, version, parent, parent_branch, attrs, labels, modified) "
                            + "values (?, ?, ?, ?, ?, '', ?::jsonb, ?::jsonb, now())")
                    .params(t.name(), key, branch, v, merged.getVersion(), a, ls).update();
            return merged;
        });
    }

    private static Map<String, Object> threeWay(Map<String, ?> base, Map<String, ?> main, Map<String, ?> branch, String prefix,
                                                List<Map<String, Object>> conflicts) {
        Map<String, Object> out = new TreeMap<>();
        TreeSet<String> names = new TreeSet<>(main.keySet());
        names.addAll(branch.keySet());
        names.addAll(base.keySet());
        for (String n : names) {
            Object b = base.get(n), m = main.get(n), br = branch.get(n);
            Object result;
            if (same(br, b)) result = m;
            else if (same(m, b) || same(m, br)) result = br;
            else {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("name", prefix + n);
                c.put("base", b);
                c.put("main", m);
                c.put("branch", br);
                conflicts.add(c);
                continue;
            }
            if (result != null) out.put(n, result);
        }
        return out;
    }

    private static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return AttrType.toDecimal(x).compareTo(AttrType.toDecimal(y)) == 0;
        return Objects.equals(a, b);
    }
}
