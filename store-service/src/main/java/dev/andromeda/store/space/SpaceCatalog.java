package dev.andromeda.store.space;

import dev.andromeda.api.model.Space;
import dev.andromeda.api.model.SpaceOpts;
import dev.andromeda.api.model.SpaceSpec;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Caller;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** The spaces: their definitions (table {@code spaces}) and their tables (mkdir, rm). */
@Service
public class SpaceCatalog {

    private static final TypeReference<TreeMap<String, String>> STRING_MAP = new TypeReference<>() {};
    private static final TypeReference<TreeMap<String, Object>> OBJECT_MAP = new TypeReference<>() {};
    private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};
    /** How long a definition read from the catalog is trusted (another replica may rm and mkdir). */
    private static final long CACHE_NANOS = 5_000_000_000L;

    private final JdbcClient jdbc;
    private final TransactionTemplate tx;
    private final JsonMapper json;
    private final int defaultPartitions;
    private final int defaultFailures;
    private final boolean defaultVersioning;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    private record Cached(SpaceType type, long at) {}

    SpaceCatalog(JdbcClient jdbc, TransactionTemplate tx, JsonMapper json,
                 @Value("${m31.store.defaults.partitions:1}") int partitions,
                 @Value("${m31.store.defaults.failures:0}") int failures,
                 @Value("${m31.store.defaults.versioning:false}") boolean versioning) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.json = json;
        this.defaultPartitions = partitions;
        this.defaultFailures = failures;
        this.defaultVersioning = versioning;
    }

    public record Made(SpaceType type, boolean created) {}

    /** Checks a spec and normalizes it (defaults filled in, key attribute out of attrs). */
    public SpaceType validate(String name, SpaceSpec spec) {
        if (name == null || !SpaceType.SPACE_NAME.matcher(name).matches()) {
            throw M31Problem.badRequest("space", "a space name is 1-63 of [a-z0-9_], starting with a letter");
        }
        String key = spec.getKey();
        if (key == null || key.isEmpty()) throw M31Problem.unprocessable("key", "key (the name of the key attribute) is required");
        checkAttrName("key", key);
        Map<String, Object> rawAttrs = spec.getAttrs() == null ? Map.of() : spec.getAttrs();
        if (rawAttrs.size() > SpaceType.MAX_ATTRS) {
            throw M31Problem.unprocessable("attrs", "at most " + SpaceType.MAX_ATTRS + " attributes");
        }
        TreeMap<String, AttrType> attrs = new TreeMap<>();
        for (var e : rawAttrs.entrySet()) {
            String field = "attrs." + e.getKey();
            checkAttrName(field, e.getKey());
            AttrType t;
            try {
                t = AttrType.parse(e.getValue(), json);
            } catch (AttrType.BadType bad) {
                throw M31Problem.unprocessable(field, bad.getMessage());
            }
            if (e.getKey().equals(key)) {
                if (!t.equals(AttrType.Str)) throw M31Problem.unprocessable(field, "the key attribute " + key + " is a Str, not " + t);
                continue;
            }
            attrs.put(e.getKey(), t);
        }
        java.util.TreeSet<String> indexed = new java.util.TreeSet<>();
        if (spec.getIndexed() == null || spec.getIndexed().isEmpty()) {
            attrs.forEach((n, t) -> {
                if (t.indexedByDefault()) indexed.add(n);
            });
        } else {
            for (String n : spec.getIndexed()) {
                String field = "indexed";
                if (n == null) throw M31Problem.unprocessable(field, "an indexed name is an attribute or label.<name>");
                if (n.startsWith("label.")) {
                    if (!SpaceType.ATTR_NAME.matcher(n.substring(6)).matches()) {
                        throw M31Problem.unprocessable(field, "an indexed label name is 1-63 of [A-Za-z0-9_]");
                    }
                } else if (n.equals(key)) {
                    continue; // the primary key is its index
                } else {
                    AttrType t = attrs.get(n);
                    if (t == null) throw M31Problem.unprocessable(field, "no attribute '" + SpaceType.abbreviate(n) + "' to index");
                    if (!t.indexable()) throw M31Problem.unprocessable(field, n + " is a " + t + "; Int, Float, Str, Time and Bool attributes have btree indexes (all have GIN)");
                }
                indexed.add(n);
            }
        }
        TreeMap<String, String> labels = new TreeMap<>();
        if (spec.getLabels() != null) {
            for (var e : spec.getLabels().entrySet()) {
                checkLabel("labels." + e.getKey(), e.getKey(), e.getValue());
                labels.put(e.getKey(), e.getValue());
            }
        }
        SpaceOpts o = spec.getOpts();
        // missing options take the store's configured defaults
        int partitions = o == null || o.getPartitions() == null ? defaultPartitions : o.getPartitions();
        int failures = o == null || o.getFailures() == null ? defaultFailures : o.getFailures();
        boolean versioning = o == null || o.getVersioning() == null ? defaultVersioning : o.getVersioning();
        if (partitions < 1 || partitions > SpaceType.MAX_PARTITIONS) {
            throw M31Problem.unprocessable("opts.partitions", "partitions is 1.." + SpaceType.MAX_PARTITIONS);
        }
        if (failures < 0 || failures > SpaceType.MAX_FAILURES) {
            throw M31Problem.unprocessable("opts.failures", "failures is 0.." + SpaceType.MAX_FAILURES);
        }
        return new SpaceType(name, SpaceType.tableFor(name), key, attrs, List.copyOf(indexed), labels, partitions, failures,
                versioning, null);
    }

    public static void checkLabel(String field, String name, String value) {
        if (name == null || name.isEmpty() || name.length() > 256 || name.indexOf('\0') >= 0
                || value == null || value.indexOf('\0') >= 0) {
            throw M31Problem.unprocessable(SpaceType.abbreviate(field), "a label is a non-empty name (≤ 256) with a string value");
        }
    }

    private static void checkAttrName(String field, String n) {
        if (!SpaceType.ATTR_NAME.matcher(n).matches()) {
            throw M31Problem.unprocessable(field, "an attribute name is 1-63 of [A-Za-z0-9_], not starting with a digit");
        }
        if (SpaceType.RESERVED.contains(n)) {
            throw M31Problem.unprocessable(field, "'" + n + "' is reserved (a query parameter); choose another name");
        }
    }

    /**
     * mkdir: creates the space, or finds it with the same definition (which the caller must be
     * allowed to read); 409 on a different one.
     */
    public Made make(SpaceType want, Caller caller) {
        return tx.execute(status -> {
            int inserted = jdbc.sql("""
                    insert into spaces (name, tbl, key_attr, attrs, indexed, labels, partitions, failures, versioning)
                    values (?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?) on conflict (name) do nothing""")
                    .params(want.name(), want.table(), want.keyAttr(), json.writeValueAsString(want.attrNames()),
                            json.writeValueAsString(want.indexed()), json.writeValueAsString(want.labels()),
                            want.partitions(), want.failures(), want.versioning())
                    .update();
            if (inserted == 0) {
                SpaceType have = find(want.name());
                if (have == null) throw M31Problem.conflict("space " + want.name() + " is being changed; retry");
                have.access().requireRead(caller, "space " + want.name());
                if (!have.sameDefinition(want)) {
                    throw M31Problem.conflict("space " + want.name() + " exists with another definition");
                }
                return new Made(have, false);
            }
            for (String ddl : want.ddl()) {
                jdbc.sql(ddl).update();
            }
            cache.remove(want.name());
            return new Made(find(want.name()), true);
        });
    }

    SpaceType find(String name) {
        return jdbc.sql("select * from spaces where name = ?").param(name).query(this::map).optional().orElse(null);
    }

    /** The space, or a 404 problem; the definition is cached briefly (every request needs it). */
    public SpaceType require(String name) {
        if (name == null || !SpaceType.SPACE_NAME.matcher(name).matches()) {
            throw M31Problem.badRequest("space", "a space name is 1-63 of [a-z0-9_], starting with a letter");
        }
        long now = System.nanoTime();
        Cached c = cache.get(name);
        if (c != null && now - c.at() < CACHE_NANOS) return c.type();
        SpaceType t = find(name);
        if (t == null) {
            cache.remove(name);
            throw M31Problem.noSpace(name);
        }
        cache.put(name, new Cached(t, now));
        return t;
    }

    /** After a table was found missing: another replica removed a space this one still had cached. */
    public void forgetAll() {
        cache.clear();
    }

    public List<SpaceType> list(String keyAttr) {
        if (keyAttr == null) return jdbc.sql("select * from spaces order by name").query(this::map).list();
        return jdbc.sql("select * from spaces where key_attr = ? order by name").param(keyAttr).query(this::map).list();
    }

    /** Sets and removes labels of the space itself; the definition cache of this process forgets it at once. */
    public SpaceType patchLabels(SpaceType t, Map<String, String> set, List<String> remove) {
        SpaceType changed = jdbc.sql("update spaces set labels = (labels - ?::text[]) || ?::jsonb where name = ? returning *")
                .params(remove.toArray(new String[0]), json.writeValueAsString(set), t.name())
                .query(this::map).optional().orElseThrow(() -> M31Problem.noSpace(t.name()));
        cache.remove(t.name());
        return changed;
    }

    /** rm: drops the space's table and definition together. */
    public boolean remove(String name) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            String tbl = jdbc.sql("delete from spaces where name = ? returning tbl").param(name)
                    .query(String.class).optional().orElse(null);
            if (tbl == null) return false;
            // tbl was derived from a validated name when the space was made; check again anyway
            if (!tbl.equals(SpaceType.tableFor(name))) throw new IllegalStateException("unexpected table for " + name);
            jdbc.sql("drop table if exists " + tbl).update();
            for (String shared : List.of("applied_batches", "versions", "branches", "changes", "change_horizons", "version_horizons", "retention_marks")) {
                jdbc.sql("delete from " + shared + " where space = ?").param(name).update();
            }
            cache.remove(name);
            return true;
        }));
    }

    /** How many objects: exact for small spaces, the planner's estimate for big ones. */
    long objects(SpaceType t) {
        Long estimate = jdbc.sql("""
                select coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint from pg_class c
                where c.oid = to_regclass(?) or c.oid in (select inhrelid from pg_inherits where inhparent = to_regclass(?))""")
                .params(t.table(), t.table()).query(Long.class).single();
        if (estimate != null && estimate > 100_000) return estimate;
        return jdbc.sql("select count(*) from " + t.table()).query(Long.class).single();
    }

    public Space view(SpaceType t) {
        Space s = new Space();
        s.setName(t.name());
        s.setKey(t.keyAttr());
        s.setAttrs(new java.util.LinkedHashMap<>(t.attrNames()));
        s.setIndexed(new java.util.ArrayList<>(t.indexed()));
        s.setLabels(new java.util.HashMap<>(t.labels()));
        SpaceOpts o = new SpaceOpts();
        o.setPartitions(t.partitions());
        o.setFailures(t.failures());
        o.setVersioning(t.versioning());
        s.setOpts(o);
        s.setEffectiveFailures(SpaceType.EFFECTIVE_FAILURES);
        s.setObjects(objects(t));
        s.setCreated(t.created());
        return s;
    }

    private SpaceType map(ResultSet rs, int row) throws SQLException {
        TreeMap<String, Object> names = json.readValue(rs.getString("attrs"), OBJECT_MAP);
        TreeMap<String, AttrType> attrs = new TreeMap<>();
        names.forEach((k, v) -> attrs.put(k, AttrType.parse(v, json)));
        return new SpaceType(rs.getString("name"), rs.getString("tbl"), rs.getString("key_attr"), attrs,
                List.copyOf(json.readValue(rs.getString("indexed"), STRING_LIST)),
                json.readValue(rs.getString("labels"), STRING_MAP), rs.getInt("partitions"), rs.getInt("failures"),
                rs.getBoolean("versioning"), rs.getObject("created", OffsetDateTime.class));
    }
}
