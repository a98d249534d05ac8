package dev.andromeda.engines;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EnginesTest {

    @Test
    void postgresAnswersAndHasTheM31Database() throws Exception {
        try (EmbeddedPostgresEngine pg = EmbeddedPostgresEngine.startEphemeral();
             Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password());
             ResultSet rs = c.createStatement().executeQuery("select current_database(), current_setting('server_version_num')::int")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("m31");
            assertThat(rs.getInt(2)).isGreaterThanOrEqualTo(170000);
        }
    }

    @Test
    void kafkaBrokerCarriesRecordsInOrder() throws Exception {
        try (EmbeddedKafkaEngine kafka = EmbeddedKafkaEngine.startEphemeral()) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
            }
            Properties pp = new Properties();
            pp.put("bootstrap.servers", kafka.bootstrapServers());
            try (var producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 100; i++) producer.send(new ProducerRecord<>("t", "k", "v" + i));
                producer.flush();
            }
            Properties cp = new Properties();
            cp.put("bootstrap.servers", kafka.bootstrapServers());
            cp.put("group.id", "g");
            cp.put("auto.offset.reset", "earliest");
            try (var consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("t"));
                List<String> seen = new java.util.ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (seen.size() < 100 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) seen.add(r.value());
                }
                assertThat(seen).hasSize(100);
                for (int i = 0; i < 100; i++) assertThat(seen.get(i)).isEqualTo("v" + i);
            }
        }
    }
}
