package dev.andromeda.channel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One consumer loop per service instance. It is assigned every partition of the shared topic
 * and the topic of every named channel (added as they are created), and dispatches each record
 * into its channel's in-memory {@link ChannelQueue}, waking that channel's receivers.
 *
 * <p>Positions come from PostgreSQL, not from consumer-group commits: at startup each partition
 * is read from the least Kafka offset any channel with undelivered messages still needs (else
 * from its end, captured before that query), and records whose seq is at or below the channel's
 * receive cursor are dropped — so nothing handed out is handed out again after a restart, and
 * nothing unhanded is lost. A queue above its bounds pauses its partition until it drains.
 *
 * <p>This slice assumes one instance serves a channel. Several instances will split channels by
 * partition ownership (a consumer group, with the cursor in PostgreSQL as now): a later issue.
 */
@Component
public class Dispatcher implements InitializingBean, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

    private final KafkaPlumbing kafka;
    private final ChannelStore store;
    private final JsonMapper json;
    private final int maxMessages;
    private final long maxBytes;
    private final Map<String, ChannelQueue> queues = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<TopicPartition> added = new ConcurrentLinkedQueue<>();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private final Set<TopicPartition> paused = new HashSet<>();
    private KafkaConsumer<String, byte[]> consumer;
    private Thread thread;
    private volatile boolean running;

    public Dispatcher(KafkaPlumbing kafka, ChannelStore store, JsonMapper json,
                      @Value("${m31.channel.queue-max-messages:10000}") int maxMessages,
                      @Value("${m31.channel.queue-max-bytes:33554432}") long maxBytes) {
        this.kafka = kafka;
        this.store = store;
        this.json = json;
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
    }

    /** Positions the consumer before the web server takes requests, then starts the loop. */
    @Override
    public void afterPropertiesSet() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, KafkaPlumbing.MAX_RECORD_BYTES + 64 * 1024);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "m31-channel-dispatcher");
        consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());

        List<TopicPartition> all = new ArrayList<>();
        for (int i = 0; i < kafka.sharedPartitions(); i++) all.add(new TopicPartition(kafka.sharedTopic(), i));
        for (String topic : new HashSet<>(store.namedTopics())) all.add(new TopicPartition(topic, 0));
        // the ends first, then what the channels need: a send committed after the query lies beyond the ends
        assigned.addAll(all);
        consumer.assign(assigned);
        Map<TopicPartition, Long> ends = consumer.endOffsets(all, Duration.ofSeconds(30));
        Map<TopicPartition, Long> needs = store.neededOffsets();
        for (TopicPartition tp : all) {
            long end = ends.getOrDefault(tp, 0L);
            long from = Math.min(needs.getOrDefault(tp, end), end);
            consumer.seek(tp, from);
            if (from < end) log.info("{}: replaying from offset {} (end {}) for undelivered messages", tp, from, end);
        }
        running = true;
        thread = Thread.ofPlatform().name("m31-channel-dispatcher").daemon().start(this::loop);
    }

    /** A new named channel's topic: read from its beginning. */
    void track(TopicPartition tp) {
        added.add(tp);
        consumer.wakeup();
    }

    /** The queue of a channel, loaded with its cursor on first use; null when there is no such channel. */
    ChannelQueue queue(String id) {
        ChannelQueue q = queues.get(id);
        if (q != null) return q;
        var row = store.find(id);
        if (row.isEmpty()) return null;
        return queues.computeIfAbsent(id, k -> new ChannelQueue(k, row.get().delivered(), row.get().closed()));
    }

    /** The channel is closed and drained: its queue is no longer needed here. */
    void forget(String id) {
        queues.remove(id);
    }

    private void loop() {
        try {
            while (running) {
                try {
                    for (TopicPartition tp; (tp = added.poll()) != null; ) {
                        if (assigned.add(tp)) {
                            consumer.assign(assigned);
                            consumer.seekToBeginning(List.of(tp));
                        }
                    }
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) dispatch(r);
                    backpressure();
                } catch (WakeupException woken) {
                    // a new topic to read, or shutdown: go round
                } catch (RuntimeException e) {
                    if (!running) break;
                    log.error("channel dispatcher: {}", e.toString(), e);
                    sleepQuietly();
                }
            }
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void dispatch(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null || r.value() == null) return;
        ChannelQueue q = queue(r.key());
        if (q == null) return; // not one of ours (a foreign record in a named topic)
        JsonNode envelope;
        try {
            envelope = json.readTree(r.value());
        } catch (RuntimeException notJson) {
            log.warn("{}@{}: record of {} is not a channel envelope, skipped", r.topic(), r.offset(), r.key());
            return;
        }
        if (!envelope.path("seq").isIntegralNumber()) return;
        q.partition = new TopicPartition(r.topic(), r.partition());
        q.offer(new ChannelQueue.Entry(envelope.get("seq").asLong(), envelope.get("value"), r.offset(), r.value().length));
    }

    /** Pauses a partition while one of its channels holds too much; resumes when all are at half. */
    private void backpressure() {
        Set<TopicPartition> full = new HashSet<>();
        Set<TopicPartition> busy = new HashSet<>();
        for (ChannelQueue q : queues.values()) {
            TopicPartition tp = q.partition;
            if (tp == null) continue;
            int n = q.size();
            long b = q.bytes();
            if (n > maxMessages || b > maxBytes) full.add(tp);
            if (n > maxMessages / 2 || b > maxBytes / 2) busy.add(tp);
        }
        for (TopicPartition tp : full) {
            if (paused.add(tp)) {
                consumer.pause(List.of(tp));
                log.info("{} paused: a channel's receivers are behind", tp);
            }
        }
        for (var it = paused.iterator(); it.hasNext(); ) {
            TopicPartition tp = it.next();
            if (!busy.contains(tp)) {
                consumer.resume(List.of(tp));
                it.remove();
            }
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void destroy() throws InterruptedException {
        running = false;
        if (consumer != null) consumer.wakeup();
        if (thread != null) thread.join(10_000);
        for (ChannelQueue q : queues.values()) q.wake();
    }
}
