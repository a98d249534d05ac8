package dev.andromeda.scheduler;

import dev.andromeda.api.model.Heartbeat;
import dev.andromeda.api.model.Node;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * The nodes table. Liveness is computed by the database clock (last_seen and the comparison
 * both use now()), so replicas of the scheduler agree on it whatever their own clocks say.
 */
@Repository
public class NodeRegistry {

    private static final TypeReference<Map<String, String>> LABELS = new TypeReference<>() {};

    private final JdbcTemplate jdbc;
    private final JsonMapper json;
    private final Duration liveness;

    public NodeRegistry(JdbcTemplate jdbc, JsonMapper json, @Value("${m31.scheduler.liveness:5s}") Duration liveness) {
        this.jdbc = jdbc;
        this.json = json;
        this.liveness = liveness;
    }

    public Duration liveness() { return liveness; }

    /** Records a heartbeat (registering the node on its first) and clears any suspicion. */
    public Node heartbeat(String name, Heartbeat hb) {
        int fibrils = hb.getFibrils() == null ? 0 : hb.getFibrils();
        String labels = json.writeValueAsString(hb.getLabels() == null ? Map.of() : hb.getLabels());
        return jdbc.queryForObject("""
                insert into nodes (name, url, labels, fibrils, last_seen, registered, suspect_since)
                values (?, ?, ?::jsonb, ?, now(), now(), null)
                on conflict (name) do update set url = excluded.url, labels = excluded.labels,
                    fibrils = excluded.fibrils, last_seen = excluded.last_seen, suspect_since = null
                returning name, url, labels::text as labels, fibrils, last_seen, true as alive
                """, this::row, name, hb.getUrl(), labels, fibrils);
    }

    public List<Node> all() {
        return jdbc.query(select() + " order by name", this::row, liveness.toMillis());
    }

    public List<Node> alive() {
        return all().stream().filter(n -> Boolean.TRUE.equals(n.getAlive())).toList();
    }

    public Optional<Node> find(String name) {
        return jdbc.query(select() + " where name = ?", this::row, liveness.toMillis(), name).stream().findFirst();
    }

    /** A forward to it could not connect: not a placement target until it heartbeats again. */
    public void markSuspect(String name) {
        jdbc.update("update nodes set suspect_since = now() where name = ? and suspect_since is null", name);
    }

    private static String select() {
        return "select name, url, labels::text as labels, fibrils, last_seen, "
                + "(suspect_since is null and last_seen > now() - ? * interval '1 millisecond') as alive from nodes";
    }

    private Node row(ResultSet rs, int i) throws SQLException {
        Map<String, String> labels = new LinkedHashMap<>(json.readValue(rs.getString("labels"), LABELS));
        return new Node()
                .name(rs.getString("name"))
                .url(rs.getString("url"))
                .labels(labels)
                .fibrils(rs.getInt("fibrils"))
                .lastSeen(rs.getObject("last_seen", java.time.OffsetDateTime.class).withOffsetSameInstant(ZoneOffset.UTC))
                .alive(rs.getBoolean("alive"));
    }
}
