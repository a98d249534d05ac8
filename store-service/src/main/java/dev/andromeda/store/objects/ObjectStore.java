package dev.andromeda.store.objects;

import dev.andromeda.api.model.LabelPatch;
import dev.andromeda.api.model.ObjectWrite;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Access;
import dev.andromeda.store.feed.ChangeFeed;
import dev.andromeda.store.query.Cursors;
import dev.andromeda.store.query.RowJson;
import dev.andromeda.store.query.SpaceQuery;
import dev.andromeda.store.space.AttrType;
import dev.andromeda.store.space.SpaceCatalog;
import dev.andromeda.store.space.SpaceType;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * Objects of a space: typed writes (conditional on the version), label changes, reads, deletes
 * and queries (pages, or streamed as NDJSON or CSV). Every write records its change in the
 * change feed in the same statement (see {@link ChangeFeed}).
 */
@Service
public class ObjectStore {

    static final int STREAM_FETCH_SIZE = 1000;

    private final JdbcClient jdbc;
    private final JdbcTemplate streaming;
    private final JdbcTemplate rows;
    private final TransactionTemplate snapshot;
    private final JsonMapper json;

    ObjectStore(JdbcClient jdbc, DataSource dataSource, PlatformTransactionManager txm, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
        // a cursor (fetch size) needs a transaction in PostgreSQL: rows come in slices, memory stays flat
        this.streaming = new JdbcTemplate(dataSource);
        this.streaming.setFetchSize(STREAM_FETCH_SIZE);
        this.rows = new JdbcTemplate(dataSource);
        // one snapshot for a streamed page: its end (the cursor) and its rows agree
        this.snapshot = new TransactionTemplate(txm);
        this.snapshot.setReadOnly(true);
        this.snapshot.setIsolationLevel(TransactionTemplate.ISOLATION_REPEATABLE_READ);
    }

    public record Written(StoredObject object, boolean created) {}

    /** The condition of a write: the version it expects ({@code If-Match}), or that it creates. */
    public record Condition(Long version, boolean createOnly) {
        static final Condition NONE = new Condition(null, false);

        public static Condition of(String ifMatch, String ifNoneMatch) {
            boolean create = ifNoneMatch != null && ifNoneMatch.trim().equals("*");
            if (ifNoneMatch != null && !create) throw M31Problem.badRequest("If-None-Match", "If-None-Match takes only *");
            return new Condition(version(ifMatch), create);
        }

        /** An ETag as this store writes it: the version, quoted ({@code "3"}, a weak W/ accepted). */
        public static Long version(String etag) {
            if (etag == null) return null;
            String v = etag.trim();
            if (v.startsWith("W/")) v = v.substring(2);
            if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
            try {
                long n = Long.parseLong(v);
                if (n >= 1) return n;
            } catch (NumberFormatException ignored) {
                // below
            }
            throw M31Problem.badRequest("If-Match", "If-Match takes the ETag of a version, e.g. \"3\"");
        }
    }

    public static M31Problem preconditionFailed(String detail) {
        return new M31Problem(412, "precondition-failed", detail, "If-Match");
    }

    /** Attributes checked against the space's type, in stored form (the key attribute left out). */
    public Map<String, Object> checkAttrs(SpaceType t, String key, Map<String, Object> given) {
        Map<String, Object> attrs = new TreeMap<>();
        if (given == null) return attrs;
        for (var e : given.entrySet()) {
            String name = e.getKey();
            String field = "attrs." + SpaceType.abbreviate(name);
            if (t.isKey(name)) {
                if (!key.equals(e.getValue())) {
                    throw M31Problem.unprocessable(field, "the key attribute " + name + " must equal the key in the path");
                }
                continue;
            }
            AttrType type = t.typeOf(name);
            if (type == null) {
                throw M31Problem.unprocessable(field, "no attribute '" + SpaceType.abbreviate(name) + "' in space " + t.name()
                        + " (its attributes: " + String.join(", ", t.attrNames().keySet()) + ")");
            }
            Object v = type.coerce(e.getValue(), json);
            if (v == null) {
                AttrType.Mismatch m = type.mismatch(e.getValue(), json);
                throw M31Problem.unprocessable(field + m.at(), m.in(name));
            }
            attrs.put(name, v);
        }
        return attrs;
    }

    /** The space's default labels, overlaid with the given ones. */
    public Map<String, String> checkLabels(SpaceType t, Map<String, String> given) {
        Map<String, String> labels = new TreeMap<>(t.objectDefaults());
        if (given != null) {
            for (var e : given.entrySet()) {
                SpaceCatalog.checkLabel("labels." + e.getKey(), e.getKey(), e.getValue());
                labels.put(e.getKey(), e.getValue());
            }
        }
        return labels;
    }

    /**
     * The statement around a write that returns the object: it also appends the change and
     * notifies watchers, all in one statement (so in the write's own transaction).
     */
    private String recorded(SpaceType t, String write, String op) {
        return "with w as (" + write + " returning key, attrs, labels, version, modified), "
                + "c as (insert into changes (space, op, keys, body) select ?, '" + op + "', array[w.key], "
                + "jsonb_build_object('version', w.version, 'attrs', w.attrs || jsonb_build_object(" + SpaceType.lit(t.keyAttr())
                + ", w.key), 'labels', w.labels) from w) "
                + "select " + SpaceQuery.columns(t) + ", pg_notify('" + ChangeFeed.CHANNEL + "', ?) as n from w";
    }

    public Written put(SpaceType t, String key, ObjectWrite body, Condition cond) {
        checkKey(key);
        Map<String, Object> attrs = checkAttrs(t, key, body.getAttrs());
        Map<String, String> labels = checkLabels(t, body.getLabels());
        String a = json.writeValueAsString(attrs), l = json.writeValueAsString(labels);
        if (cond.version() != null) {
            String sql = recorded(t, "update " + t.table() + " set attrs = ?::jsonb, labels = " + keptAccess("labels")
                    + " || ?::jsonb, version = version + 1, modified = now() where key = ? and version = ?", "put");
            return jdbc.sql(sql).params(a, l, key, cond.version(), t.name(), t.name())
                    .query((rs, n) -> new Written(map(rs), false)).optional()
                    .orElseThrow(() -> preconditionFailed(exists(t, key)
                            ? "the object is not at version " + cond.version() : "no object " + SpaceType.abbreviate(key) + " to match"));
        }
        String insert = "insert into " + t.table() + " as sp (key, attrs, labels, version, created, modified) "
                + "values (?, ?::jsonb, ?::jsonb, 1, now(), now()) ";
        String sql = recorded(t, insert + (cond.createOnly() ? "on conflict (key) do nothing"
                : "on conflict (key) do update set attrs = excluded.attrs, labels = " + keptAccess("sp.labels") + " || excluded.labels, "
                + "version = sp.version + 1, modified = now()"), "put");
        return jdbc.sql(sql).params(key, a, l, t.name(), t.name())
                // a version starts at 1, an update raises it
                .query((rs, n) -> new Written(map(rs), rs.getLong("version") == 1)).optional()
                .orElseThrow(() -> preconditionFailed("the object exists (If-None-Match: *)"));
    }

    /**
     * The access labels (owner, readers, writers) of the row's labels {@code col}: a PUT keeps
     * them unless it names them, so replacing an object's labels never widens or narrows who may
     * read it by accident, and a writer who is not the owner cannot drop them.
     */
    static String keptAccess(String col) {
        return "coalesce((select jsonb_object_agg(e.k, e.v) from jsonb_each(" + col + ") as e(k, v) "
                + "where e.k in ('" + Access.OWNER + "', '" + Access.READERS + "', '" + Access.WRITERS + "')), '{}'::jsonb)";
    }

    /** The label names a patch sets or removes (what decides whether it needs the owner). */
    public static List<String> touched(LabelPatch patch) {
        List<String> names = new ArrayList<>();
        if (patch.getSet() != null) names.addAll(patch.getSet().keySet());
        if (patch.getRemove() != null) patch.getRemove().stream().filter(java.util.Objects::nonNull).forEach(names::add);
        return names;
    }

    /** A label patch, checked: the labels to set and the names to remove. */
    public record LabelChange(Map<String, String> set, List<String> remove) {}

    public static LabelChange check(LabelPatch patch) {
        Map<String, String> set = new TreeMap<>();
        if (patch.getSet() != null) {
            for (var e : patch.getSet().entrySet()) {
                SpaceCatalog.checkLabel("set." + e.getKey(), e.getKey(), e.getValue());
                set.put(e.getKey(), e.getValue());
            }
        }
        List<String> remove = new ArrayList<>();
        if (patch.getRemove() != null) {
            for (String r : patch.getRemove()) {
                if (r == null || r.indexOf('\0') >= 0) throw M31Problem.unprocessable("remove", "a label name is a string without NUL");
                if (set.containsKey(r)) throw M31Problem.unprocessable("remove", "label " + SpaceType.abbreviate(r) + " is both set and removed");
                remove.add(r);
            }
        }
        return new LabelChange(set, remove);
    }

    public StoredObject patchLabels(SpaceType t, String key, LabelPatch patch, Long ifMatch) {
        checkKey(key);
        LabelChange change = check(patch);
        Map<String, String> set = change.set();
        List<String> remove = change.remove();
        String sql = recorded(t, "update " + t.table() + " set labels = (labels - ?::text[]) || ?::jsonb, version = version + 1, "
                + "modified = now() where key = ?" + (ifMatch == null ? "" : " and version = ?"), "labels");
        List<Object> args = new ArrayList<>(List.of(remove.toArray(new String[0]), json.writeValueAsString(set), key));
        if (ifMatch != null) args.add(ifMatch);
        args.add(t.name());
        args.add(t.name());
        return jdbc.sql(sql).params(args).query((rs, n) -> map(rs)).optional().orElseThrow(() -> {
            if (!exists(t, key)) return M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name());
            return preconditionFailed("the object is not at version " + ifMatch);
        });
    }

    public StoredObject get(SpaceType t, String key) {
        checkKey(key);
        return find(t, key).orElseThrow(() -> M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + t.name()));
    }

    public java.util.Optional<StoredObject> find(SpaceType t, String key) {
        return jdbc.sql("select " + SpaceQuery.columns(t) + " from " + t.table() + " where key = ?")
                .param(key).query((rs, n) -> map(rs)).optional();
    }

    public boolean exists(SpaceType t, String key) {
        return jdbc.sql("select count(*) from " + t.table() + " where key = ?").param(key).query(Long.class).single() > 0;
    }

    /** Deletes the object; false when there was none. 412 when it is at another version than asked. */
    public boolean delete(SpaceType t, String key, Long ifMatch) {
        checkKey(key);
        String sql = "with d as (delete from " + t.table() + " where key = ?" + (ifMatch == null ? "" : " and version = ?")
                + " returning key, version), "
                + "c as (insert into changes (space, op, keys, body) select ?, 'delete', array[d.key], "
                + "jsonb_build_object('version', d.version) from d) "
                + "select d.version, pg_notify('" + ChangeFeed.CHANNEL + "', ?) from d";
        List<Object> args = new ArrayList<>();
        args.add(key);
        if (ifMatch != null) args.add(ifMatch);
        args.add(t.name());
        args.add(t.name());
        boolean deleted = !jdbc.sql(sql).params(args).query((rs, n) -> rs.getLong(1)).list().isEmpty();
        if (!deleted && ifMatch != null && exists(t, key)) throw preconditionFailed("the object is not at version " + ifMatch);
        return deleted;
    }

    /** A page: the objects, and the cursor of the next page when there is one. */
    public record Page(List<StoredObject> objects, String next) {}

    public Page query(SpaceType t, SpaceQuery q, Cursors cursors) {
        List<StoredObject> rows = jdbc.sql(q.sql()).params(q.args()).query((rs, n) -> map(rs)).list();
        if (q.limit() > 0 && rows.size() > q.limit()) {
            rows = rows.subList(0, q.limit());
            StoredObject last = rows.get(rows.size() - 1);
            return new Page(rows, cursors.make(q.filters(), SpaceQuery.sortValue(t, q.sortAttr(), last), last.getKey()));
        }
        return new Page(rows, null);
    }

    /**
     * A page as the bytes of its JSON array ({@code json[0, size)}), and the next page's cursor.
     * The rows' attrs and labels are PostgreSQL's own JSON text, copied into the answer as they
     * come (see {@link RowJson}): no tree per row, no second serialization, no decoding.
     */
    public record RawPage(byte[] json, int size, String next) {}

    public RawPage queryJson(SpaceType t, SpaceQuery q, Cursors cursors) {
        RowJson buf = new RowJson(16 * 1024);
        int limit = q.limit();
        byte[][] last = new byte[2][]; // key and attrs of the page's last row, for the cursor
        int[] n = {0};
        buf.write('[');
        rows.query(q.sql(), rs -> {
            int i = n[0]++;
            if (limit > 0 && i >= limit) return; // the one row past the page: there is a next page
            if (i > 0) buf.write(',');
            // text columns as sent (UTF-8): getBytes does not decode them
            byte[] key = rs.getBytes(1), attrs = rs.getBytes(2);
            buf.row(key, attrs, rs.getBytes(3), rs.getLong(4), rs.getObject(5, OffsetDateTime.class), json);
            last[0] = key;
            last[1] = attrs;
        }, q.args().toArray());
        buf.write(']');
        String next = null;
        if (limit > 0 && n[0] > limit) {
            StoredObject o = new StoredObject();
            o.setKey(new String(last[0], StandardCharsets.UTF_8));
            if (!t.isKey(q.sortAttr())) o.setAttrs(json.readValue(last[1], SpaceType.OBJECT_MAP)); // one row parsed, for its sort value
            next = cursors.make(q.filters(), SpaceQuery.sortValue(t, q.sortAttr(), o), o.getKey());
        }
        return new RawPage(buf.array(), buf.size(), next);
    }

    /**
     * Streams the matching objects as NDJSON (one object per line) or CSV (RFC 4180: key, one
     * column per attribute — scalars as text, lists and objects as JSON —, labels as JSON, version,
     * modified) as the rows arrive from a database cursor. With a limit, the page's end is found
     * first in the same snapshot (one short query: the row at the limit, and whether one follows),
     * and {@code start} gets the next page's cursor before the first byte, so it can go into the
     * response headers just as for a JSON page; without a limit it gets null. Returns how many rows.
     */
    public long stream(SpaceType t, SpaceQuery q, Cursors cursors, boolean csv, OutputStream out, java.util.function.Consumer<String> start) {
        List<String> names = new ArrayList<>(t.attrs().keySet());
        long[] count = {0};
        RowJson line = new RowJson(4096);
        snapshot.executeWithoutResult(status -> {
            start.accept(q.limit() > 0 ? pageEnd(t, q, cursors) : null);
            try {
                if (csv) {
                    StringBuilder head = new StringBuilder(csv(t.keyAttr()));
                    for (String n : names) head.append(',').append(csv(n));
                    head.append(",labels,version,modified\r\n");
                    out.write(head.toString().getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            streaming.query(q.sql(), rs -> {
                try {
                    if (csv) csvRow(rs, names, out);
                    else {
                        line.reset();
                        line.row(rs.getBytes(1), rs.getBytes(2), rs.getBytes(3), rs.getLong(4), rs.getObject(5, OffsetDateTime.class), json);
                        line.write('\n');
                        out.write(line.array(), 0, line.size());
                    }
                    count[0]++;
                } catch (IOException e) {
                    throw new UncheckedIOException(e); // the client went away: stop reading rows
                }
            }, q.args().toArray());
        });
        return count[0];
    }

    /** The cursor after a streamed page of {@code q.limit()} rows, or null when nothing follows it. */
    private String pageEnd(SpaceType t, SpaceQuery q, Cursors cursors) {
        List<Object> args = new ArrayList<>(q.args().subList(0, q.args().size() - 1)); // the last is the limit
        args.add(2);
        args.add(q.limit() - 1);
        List<String[]> two = rows.query(q.sql() + " offset ?", (rs, n) -> new String[] {rs.getString(1), rs.getString(2)}, args.toArray());
        if (two.size() < 2) return null;
        StoredObject last = new StoredObject();
        last.setKey(two.get(0)[0]);
        if (!t.isKey(q.sortAttr())) last.setAttrs(json.readValue(two.get(0)[1], SpaceType.OBJECT_MAP));
        return cursors.make(q.filters(), SpaceQuery.sortValue(t, q.sortAttr(), last), last.getKey());
    }

    private void csvRow(ResultSet rs, List<String> names, OutputStream out) throws SQLException, IOException {
        Map<String, Object> attrs = json.readValue(rs.getString("attrs"), SpaceType.OBJECT_MAP);
        StringBuilder line = new StringBuilder(csv(rs.getString("key")));
        for (String n : names) {
            Object v = attrs.get(n);
            line.append(',');
            if (v != null) line.append(csv(v instanceof String s ? s : json.writeValueAsString(v)));
        }
        line.append(',').append(csv(rs.getString("labels"))).append(',').append(rs.getLong("version")).append(',')
                .append(rs.getObject("modified", OffsetDateTime.class)).append("\r\n");
        out.write(line.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String csv(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    public StoredObject map(ResultSet rs) throws SQLException {
        StoredObject o = new StoredObject();
        o.setKey(rs.getString("key"));
        o.setAttrs(json.readValue(rs.getString("attrs"), SpaceType.OBJECT_MAP));
        o.setLabels(json.readValue(rs.getString("labels"), SpaceType.STRING_MAP));
        o.setVersion(rs.getLong("version"));
        o.setModified(rs.getObject("modified", OffsetDateTime.class));
        return o;
    }

    public static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.length() > 1024) throw M31Problem.badRequest("key", "a key is 1-1024 characters");
        if (key.indexOf('\0') >= 0) throw M31Problem.badRequest("key", "a key has no NUL character");
    }

    public static String describe(Object v) { return AttrType.describe(v); }
}
