package dev.andromeda.channel;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The channels and sends tables. */
@Repository
public class ChannelStore {

    /** One channel as stored. */
    public record Row(String id, JsonNode type, String mode, Integer capacity, String name, String topic, int partition,
                      boolean closed, OffsetDateTime created, long sent, long delivered, Long nextOffset) {
        boolean drained() { return delivered >= sent; }
    }

    private static final String COLUMNS = "id, type::text as type, mode, capacity, name, topic, partition, closed, created, sent, delivered, next_offset";

    private final JdbcTemplate jdbc;
    private final JsonMapper json;

    public ChannelStore(JdbcTemplate jdbc, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    public Row insert(String id, JsonNode type, String mode, Integer capacity, String name, String topic, int partition) {
        return jdbc.queryForObject("insert into channels (id, type, mode, capacity, name, topic, partition) "
                        + "values (?, ?::jsonb, ?, ?, ?, ?, ?) returning " + COLUMNS,
                this::row, id, type.toString(), mode, capacity, name, topic, partition);
    }

    public Optional<Row> find(String id) {
        return jdbc.query("select " + COLUMNS + " from channels where id = ?", this::row, id).stream().findFirst();
    }

    /** The row, locked until the end of the current transaction: senders of one channel queue here. */
    public Optional<Row> lock(String id) {
        return jdbc.query("select " + COLUMNS + " from channels where id = ? for update", this::row, id).stream().findFirst();
    }

    public Optional<Long> idempotentSeq(String id, String key) {
        return jdbc.query("select seq from sends where channel = ? and key = ?", (rs, i) -> rs.getLong(1), id, key).stream().findFirst();
    }

    /** Records a send at {@code seq} whose record sits at {@code offset}. */
    public void recordSend(Row ch, long seq, String key, long offset) {
        if (key != null) jdbc.update("insert into sends (channel, key, seq) values (?, ?, ?)", ch.id(), key, seq);
        // the first undelivered record's offset only needs setting when nothing was pending
        jdbc.update("update channels set sent = ?, next_offset = case when sent <= delivered then ? else next_offset end where id = ?",
                seq, offset, ch.id());
    }

    /** Advances the receive cursor to {@code seq}; later records of the channel sit at or after {@code nextOffset}. */
    public boolean advance(String id, long seq, long nextOffset) {
        return jdbc.update("update channels set delivered = ?, next_offset = ? where id = ? and delivered < ?", seq, nextOffset, id, seq) == 1;
    }

    public boolean close(String id) {
        return jdbc.update("update channels set closed = true where id = ?", id) == 1;
    }

    /** Per partition, the least offset any channel with undelivered messages still needs. */
    public Map<TopicPartition, Long> neededOffsets() {
        Map<TopicPartition, Long> needs = new HashMap<>();
        jdbc.query("select topic, partition, min(coalesce(next_offset, 0)) from channels where sent > delivered group by topic, partition",
                rs -> { needs.put(new TopicPartition(rs.getString(1), rs.getInt(2)), rs.getLong(3)); });
        return needs;
    }

    /** The topics of named channels that may still have something to deliver. */
    public List<String> namedTopics() {
        return jdbc.queryForList("select topic from channels where name is not null and not (closed and sent <= delivered)", String.class);
    }

    private Row row(ResultSet rs, int i) throws SQLException {
        long next = rs.getLong("next_offset");
        Long nextOffset = rs.wasNull() ? null : next;
        int cap = rs.getInt("capacity");
        Integer capacity = rs.wasNull() ? null : cap;
        return new Row(rs.getString("id"), json.readTree(rs.getString("type")), rs.getString("mode"), capacity,
                rs.getString("name"), rs.getString("topic"), rs.getInt("partition"), rs.getBoolean("closed"),
                rs.getObject("created", OffsetDateTime.class), rs.getLong("sent"), rs.getLong("delivered"), nextOffset);
    }
}
