package dev.andromeda.channel.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The channel tables: channels, groups (receive cursors), endpoints (clones), sends (idempotency
 * keys and the attempt that owns each), withdrawn (sync sends no receiver took).
 */
@Repository
public class ChannelStore {

    /** One channel as stored, with the counters of its own cursor. */
    public record Row(String id, JsonNode type, String mode, Integer capacity, String name, String topic, int partition,
                      boolean closed, OffsetDateTime created, long sent, long received, long lastSeq, Long closeSeq,
                      boolean capabilities, Map<String, String> labels) {
        public boolean sync() { return mode.equals("sync"); }
        public TopicPartition tp() { return new TopicPartition(topic, partition); }
    }

    /**
     * A receive cursor: the last seq up to which everything is acknowledged, the seqs above it
     * acknowledged out of order ({lo1, hi1, lo2, hi2, …}), and how many messages it acknowledged.
     */
    public record Group(String id, long cursor, long[] ackedAbove, long received) {}

    /** A cloned endpoint. */
    public record EndpointRow(String id, String end, String grp) {}

    /** A keyed record read from Kafka, for {@link #owners}. */
    public record Keyed(String channel, String key, String attempt, long seq) {}

    private static final String COLUMNS = "c.id, c.type::text as type, c.mode, c.capacity, c.name, c.topic, c.partition, c.closed, "
            + "c.created, c.sent, g.received, c.last_seq, c.close_seq, c.capabilities, c.labels::text as labels";
    private static final String FROM = " from channels c join groups g on g.channel = c.id and g.id = ''";

    private final JdbcTemplate jdbc;
    private final JsonMapper json;

    public ChannelStore(JdbcTemplate jdbc, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    /** Inside a transaction: the channel and its own cursor. */
    public Row insert(String id, JsonNode type, String mode, Integer capacity, String name, String topic, int partition,
                      boolean capabilities, Map<String, String> labels) {
        jdbc.update("insert into channels (id, type, mode, capacity, name, topic, partition, capabilities, labels) "
                + "values (?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?::jsonb)", id, type.toString(), mode, capacity, name, topic, partition,
                capabilities, json.writeValueAsString(labels));
        jdbc.update("insert into groups (channel, id, cursor) values (?, '', 0)", id);
        return find(id).orElseThrow();
    }

    public Optional<Row> find(String id) {
        return jdbc.query("select " + COLUMNS + FROM + " where c.id = ?", this::row, id).stream().findFirst();
    }

    /** The row, locked until the end of the current transaction: senders of one channel queue here. */
    public Optional<Row> lock(String id) {
        return jdbc.query("select " + COLUMNS + FROM + " where c.id = ? for update of c", this::row, id).stream().findFirst();
    }

    /** Inside a transaction that holds the row's lock: the channel's labels become {@code labels}. */
    public void setLabels(String id, Map<String, String> labels) {
        jdbc.update("update channels set labels = ?::jsonb where id = ?", json.writeValueAsString(labels), id);
    }

    // --- sends ---------------------------------------------------------------------------

    /**
     * Claims a key (the idempotency key, or "~attempt") for this attempt, with the digest of what
     * it sends (null for a key of its own); false when an earlier send owns it.
     */
    public boolean claimKey(String id, String key, String attempt, byte[] digest) {
        return jdbc.update("insert into sends (channel, key, seq, attempt, digest) values (?, ?, 0, ?, ?) on conflict (channel, key) do nothing",
                id, key, attempt, digest) == 1;
    }

    /** The digest of what the send that owns the key sent (null when none was kept). */
    public byte[] keyDigest(String id, String key) {
        return jdbc.query("select digest from sends where channel = ? and key = ?", (rs, i) -> rs.getBytes(1), id, key)
                .stream().findFirst().orElse(null);
    }

    /** The first and last seq of the send that owns the key. */
    public Optional<long[]> keySeqs(String id, String key) {
        return jdbc.query("select seq, coalesce(last_seq, seq) from sends where channel = ? and key = ?",
                (rs, i) -> new long[] {rs.getLong(1), rs.getLong(2)}, id, key).stream().findFirst();
    }

    public void setKeySeqs(String id, String key, long seq, long last) {
        jdbc.update("update sends set seq = ?, last_seq = ? where channel = ? and key = ?", seq, last, id, key);
    }

    /** Counts {@code n} messages sent, the last at {@code lastSeq}. */
    public void recordSend(String id, int n, long lastSeq) {
        jdbc.update("update channels set sent = sent + ?, last_seq = greatest(last_seq, ?) where id = ?", n, lastSeq, id);
    }

    /**
     * The owner attempt of every key of one poll's records. A send holds its channel's row lock
     * from before it produces until its transaction ends, so taking (and at once releasing) a share
     * lock on those rows first waits for the sends still in flight: what is answered is final — a
     * record whose attempt owns no key belongs to a send that failed (its database work rolled back
     * after Kafka took the record) and is never delivered.
     */
    public Map<String, String> owners(List<Keyed> records) {
        String[] ids = records.stream().map(Keyed::channel).distinct().sorted().toArray(String[]::new);
        Set<String> seen = new HashSet<>();
        List<String> chs = new ArrayList<>(), keys = new ArrayList<>();
        for (Keyed k : records) {
            if (seen.add(k.channel() + "\n" + k.key())) {
                chs.add(k.channel());
                keys.add(k.key());
            }
        }
        Map<String, String> owners = new HashMap<>();
        jdbc.execute((ConnectionCallback<Void>) con -> {
            try (var ps = con.prepareStatement("select id from channels where id = any(?) order by id for share")) {
                ps.setArray(1, con.createArrayOf("text", ids));
                ps.executeQuery().close();
            }
            if (!con.getAutoCommit()) con.commit();
            try (var ps = con.prepareStatement("select s.channel, s.key, s.attempt from sends s join unnest(?::text[], ?::text[]) as i(channel, key) "
                    + "on s.channel = i.channel and s.key = i.key")) {
                ps.setArray(1, con.createArrayOf("text", chs.toArray()));
                ps.setArray(2, con.createArrayOf("text", keys.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) owners.put(rs.getString(1) + "\n" + rs.getString(2), rs.getString(3));
                }
            }
            return null;
        });
        return owners;
    }

    /** Records written into a named channel's topic by plain Kafka producers, now counted. */
    public void foreignSent(String id, int n, long lastSeq) {
        jdbc.update("update channels set sent = sent + ?, last_seq = greatest(last_seq, ?) where id = ?", n, lastSeq, id);
    }

    // --- cursors -------------------------------------------------------------------------

    public List<Group> groups(String id) {
        return jdbc.query("select id, cursor, acked_above, received from groups where channel = ? order by id",
                (rs, i) -> new Group(rs.getString(1), rs.getLong(2), longs(rs.getArray(3)), rs.getLong(4)), id);
    }

    public void insertGroup(String id, String grp, long cursor) {
        jdbc.update("insert into groups (channel, id, cursor) values (?, ?, ?)", id, grp, cursor);
    }

    /**
     * The cursor's acknowledged state becomes {@code cursor} and {@code ackedAbove} (seqs acknowledged
     * out of order, {lo1, hi1, …}), counting {@code n} more messages received; false when the stored
     * cursor is already beyond {@code cursor} (moved by someone else).
     */
    public boolean saveAcks(String id, String grp, long cursor, long[] ackedAbove, long n) {
        StringBuilder text = new StringBuilder("{");
        for (int i = 0; i < ackedAbove.length; i++) text.append(i == 0 ? "" : ",").append(ackedAbove[i]);
        return jdbc.update("update groups set cursor = ?, acked_above = ?::bigint[], received = received + ? "
                + "where channel = ? and id = ? and cursor <= ?", cursor, text.append('}').toString(), n, id, grp, cursor) == 1;
    }

    private static long[] longs(java.sql.Array a) throws SQLException {
        if (a == null) return new long[0];
        Object[] v = (Object[]) a.getArray();
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) out[i] = ((Number) v[i]).longValue();
        return out;
    }

    // --- endpoints -----------------------------------------------------------------------

    public void insertEndpoint(String id, String ep, String end, String grp) {
        jdbc.update("insert into endpoints (channel, id, \"end\", grp) values (?, ?, ?, ?)", id, ep, end, grp);
    }

    public List<EndpointRow> endpoints(String id) {
        return jdbc.query("select id, \"end\", grp from endpoints where channel = ? order by created, id",
                (rs, i) -> new EndpointRow(rs.getString(1), rs.getString(2), rs.getString(3)), id);
    }

    public Optional<String> endpointGroup(String id, String ep) {
        return jdbc.queryForList("select grp from endpoints where channel = ? and id = ?", String.class, id, ep).stream().findFirst();
    }

    // --- close and withdraw ----------------------------------------------------------------

    public void close(String id, long closeSeq) {
        jdbc.update("update channels set closed = true, close_seq = ? where id = ?", closeSeq, id);
    }

    /**
     * A sync send nobody took is withdrawn: never delivered, and no longer counted as sent, so the
     * channel's backlog (sent - received) shows only what a receiver can still get.
     */
    public void withdraw(String id, long seq) {
        if (jdbc.update("insert into withdrawn (channel, seq) values (?, ?) on conflict do nothing", id, seq) == 1) {
            jdbc.update("update channels set sent = sent - 1 where id = ?", id);
        }
    }

    /** A withdrawn send gives its key back (its records then have no owner and are never delivered). */
    public void releaseKey(String id, String key, long seq) {
        jdbc.update("delete from sends where channel = ? and key = ? and seq = ?", id, key, seq);
    }

    public Set<Long> withdrawn(String id, long above) {
        return new HashSet<>(jdbc.queryForList("select seq from withdrawn where channel = ? and seq > ?", Long.class, id, above));
    }

    // --- startup -------------------------------------------------------------------------

    /**
     * Per partition, the least offset a cursor still needs: every cursor of a named channel, and on
     * the shared topic the cursors behind their channel's last sent seq; a closed channel's cursors
     * that reached its close no longer count.
     */
    public Map<TopicPartition, Long> neededOffsets() {
        Map<TopicPartition, Long> needs = new HashMap<>();
        jdbc.query("select c.topic, c.partition, min(g.cursor) from channels c join groups g on g.channel = c.id "
                        + "where (g.cursor < c.last_seq or c.name is not null) "
                        + "and not (c.closed and c.close_seq is not null and g.cursor >= c.close_seq) group by c.topic, c.partition",
                rs -> { needs.put(new TopicPartition(rs.getString(1), rs.getInt(2)), rs.getLong(3)); });
        return needs;
    }

    /** Topic → channel id of the named channels that may still have something to deliver. */
    public Map<String, String> namedChannels() {
        Map<String, String> m = new HashMap<>();
        jdbc.query("select topic, id from channels where name is not null and not (closed and close_seq is not null "
                + "and close_seq <= (select min(cursor) from groups g where g.channel = channels.id))",
                rs -> { m.put(rs.getString(1), rs.getString(2)); });
        return m;
    }

    private Row row(ResultSet rs, int i) throws SQLException {
        int cap = rs.getInt("capacity");
        Integer capacity = rs.wasNull() ? null : cap;
        long close = rs.getLong("close_seq");
        Long closeSeq = rs.wasNull() ? null : close;
        return new Row(rs.getString("id"), json.readTree(rs.getString("type")), rs.getString("mode"), capacity,
                rs.getString("name"), rs.getString("topic"), rs.getInt("partition"), rs.getBoolean("closed"),
                rs.getObject("created", OffsetDateTime.class), rs.getLong("sent"), rs.getLong("received"),
                rs.getLong("last_seq"), closeSeq, rs.getBoolean("capabilities"), labels(rs.getString("labels")));
    }

    private Map<String, String> labels(String text) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        json.readTree(text).properties().forEach(e -> m.put(e.getKey(), e.getValue().asString()));
        return java.util.Collections.unmodifiableMap(m);
    }
}
