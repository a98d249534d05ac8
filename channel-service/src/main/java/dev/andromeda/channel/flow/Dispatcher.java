package dev.andromeda.channel.flow;

import dev.andromeda.channel.kafka.KafkaPlumbing;
import dev.andromeda.channel.store.ChannelStore;
import dev.andromeda.common.channel.ChannelTypes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
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
 * <p>A message's seq is its record's offset + 1, so it is known to the sender once Kafka took
 * the record and to the dispatcher for records that plain Kafka producers wrote into a named
 * channel's topic (their value is the message; one that is not JSON or not of the channel's
 * type is skipped and logged). Every record the service produces carries its send's attempt id,
 * and is delivered only if that attempt owns its key in PostgreSQL (see {@link ChannelStore#owners}):
 * a send whose database commit failed after Kafka took its records is never delivered, and its
 * retry (same idempotency key, new attempt) is delivered once.
 *
 * <p>Positions come from PostgreSQL, not from consumer-group commits: at startup each partition
 * is read from the least offset any cursor still needs (else from its end, captured before that
 * query), and records at or below every cursor are dropped — so nothing acknowledged is handed
 * out again after a restart, and nothing unacknowledged is lost. A queue above its bounds pauses
 * its partition until it drains.
 *
 * <p>This slice assumes one instance serves a channel. Several instances will split channels by
 * partition ownership (a consumer group, with the cursors in PostgreSQL as now): a later issue.
 */
@Component
public class Dispatcher implements InitializingBean, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
    static final String H_KEY = "m31-key";
    static final String H_ATTEMPT = "m31-attempt";
    static final String H_OLD_SEQ = "m31-seq";

    private final KafkaPlumbing kafka;
    private final ChannelStore store;
    private final ChannelTypes types;
    private final JsonMapper json;
    private final int maxMessages;
    private final long maxBytes;
    private final Map<String, ChannelQueue> queues = new ConcurrentHashMap<>();
    /** Named channels: topic → channel id (their records may carry any key, or none). */
    private final Map<String, String> named = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<TopicPartition> added = new ConcurrentLinkedQueue<>();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private final Set<TopicPartition> paused = new HashSet<>();
    private KafkaConsumer<byte[], byte[]> consumer;
    private Thread thread;
    private volatile boolean running;

    public Dispatcher(KafkaPlumbing kafka, ChannelStore store, ChannelTypes types, JsonMapper json,
                      @Value("${m31.channel.queue-max-messages:100000}") int maxMessages,
                      @Value("${m31.channel.queue-max-bytes:33554432}") long maxBytes) {
        this.kafka = kafka;
        this.store = store;
        this.types = types;
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
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, KafkaPlumbing.MAX_RECORD_BYTES + 64 * 1024);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "m31-channel-dispatcher");
        // keys as bytes: the records of one send share their channel's key, decoded once (see Decoded)
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());

        List<TopicPartition> all = new ArrayList<>();
        for (int i = 0; i < kafka.sharedPartitions(); i++) all.add(new TopicPartition(kafka.sharedTopic(), i));
        named.putAll(store.namedChannels());
        for (String topic : named.keySet()) all.add(new TopicPartition(topic, 0));
        // the ends first, then what the channels need: a send committed after the query lies beyond the ends
        assigned.addAll(all);
        consumer.assign(assigned);
        Map<TopicPartition, Long> ends = consumer.endOffsets(all, Duration.ofSeconds(30));
        Map<TopicPartition, Long> needs = store.neededOffsets();
        for (TopicPartition tp : all) {
            long end = ends.getOrDefault(tp, 0L);
            long from = Math.min(needs.getOrDefault(tp, end), end);
            consumer.seek(tp, from);
            positions.put(tp, from);
            if (from < end) log.info("{}: replaying from offset {} (end {}) for unacknowledged messages", tp, from, end);
        }
        running = true;
        thread = Thread.ofPlatform().name("m31-channel-dispatcher").daemon().start(this::loop);
    }

    /** A new named channel's topic: read from its beginning. */
    void track(String channel, TopicPartition tp) {
        named.put(tp.topic(), channel);
        added.add(tp);
        consumer.wakeup();
    }

    /** The queue of a channel, loaded with its cursors on first use; null when there is no such channel. */
    ChannelQueue queue(String id) {
        ChannelQueue q = queues.get(id);
        if (q != null) return q;
        var row = store.find(id);
        if (row.isEmpty()) return null;
        List<ChannelStore.Group> groups = store.groups(id);
        long low = groups.stream().mapToLong(ChannelStore.Group::cursor).min().orElse(0);
        ChannelStore.Row r = row.get();
        return queues.computeIfAbsent(id, k -> new ChannelQueue(k, r.tp(), groups, store.withdrawn(id, low), r.closed() ? r.closeSeq() : null));
    }

    /** How far the partition has been read: every record below this offset was dispatched. */
    long position(TopicPartition tp) {
        return positions.getOrDefault(tp, 0L);
    }

    /** The channel is closed and drained on every cursor: its queue is no longer needed here. */
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
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                    if (!records.isEmpty()) {
                        try {
                            dispatch(records);
                        } catch (RuntimeException e) {
                            // read these again (what was already enqueued is dropped as a replay)
                            for (TopicPartition tp : records.partitions()) consumer.seek(tp, records.records(tp).get(0).offset());
                            throw e;
                        }
                    }
                    for (TopicPartition tp : assigned) {
                        if (!paused.contains(tp)) positions.put(tp, consumer.position(tp, Duration.ofSeconds(5)));
                    }
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

    /** A record on its way into a queue. */
    private record Pending(ChannelQueue q, ChannelQueue.Entry entry, String key, String attempt) {}

    private void dispatch(ConsumerRecords<byte[], byte[]> records) {
        List<Pending> pending = new ArrayList<>(records.count());
        List<ChannelStore.Keyed> keyed = new ArrayList<>();
        Map<String, long[]> foreign = new HashMap<>();
        // the records of one send carry the same key and attempt: each is decoded once, not per record
        Decoded channels = new Decoded(), keys = new Decoded(), attempts = new Decoded();
        String lastOwned = null, lastChannel = null, queued = null;
        ChannelQueue q = null;
        for (ConsumerRecord<byte[], byte[]> r : records) {
            if (r.value() == null) continue;
            String channel = named.get(r.topic());
            if (channel == null) channel = channels.of(r.key());
            if (channel == null) continue;
            // the records of a send come in a row: their channel's queue (or that it is not ours) is found once
            if (channel != queued) { // not the very String of the last record's channel
                q = queue(channel);
                queued = channel;
            }
            if (q == null) continue; // not one of ours
            long seq = r.offset() + 1;
            String key = keys.of(r.headers().lastHeader(H_KEY)), attempt = attempts.of(r.headers().lastHeader(H_ATTEMPT));
            byte[] body = r.value();
            if (header(r, H_OLD_SEQ) != null) {
                // an envelope {seq, value} written before seqs were offsets
                JsonNode value = parse(r, channel);
                if (value == null || value.get("value") == null) continue;
                body = json.writeValueAsBytes(value.get("value"));
            } else if (attempt == null) {
                // written by a plain Kafka producer into the channel's topic: checked like a send
                JsonNode value = parse(r, channel);
                ChannelStore.Row row = value == null ? null : store.find(channel).orElse(null);
                if (row == null) continue;
                try {
                    types.check(row.type(), value);
                } catch (RuntimeException wrong) {
                    log.warn("{}@{}: record of {} is not of the channel's type, skipped: {}", r.topic(), r.offset(), channel, wrong.getMessage());
                    continue;
                }
                body = json.writeValueAsBytes(value);
                foreign.merge(channel, new long[] {1, seq}, (a, b) -> new long[] {a[0] + b[0], Math.max(a[1], b[1])});
            }
            String owned = attempt == null ? null : key != null ? key : "~" + attempt;
            // ownership is asked once per (channel, key): the next records of the same send need no entry
            if (owned != null && !(owned.equals(lastOwned) && channel.equals(lastChannel))) {
                keyed.add(new ChannelStore.Keyed(channel, owned, attempt, seq));
                lastOwned = owned;
                lastChannel = channel;
            }
            pending.add(new Pending(q, new ChannelQueue.Entry(seq, body), owned, attempt));
        }
        Map<String, String> owners = keyed.isEmpty() ? Map.of() : store.owners(keyed);
        for (Pending p : pending) {
            if (p.attempt() != null) {
                String owner = owners.get(p.q().id + "\n" + p.key());
                if (!p.attempt().equals(owner)) {
                    log.info("{}: seq {} belongs to a send that failed or was retried ({}), dropped", p.q().id, p.entry().seq(), p.key());
                    continue;
                }
            }
            p.q().offer(p.entry());
        }
        foreign.forEach((ch, n) -> store.foreignSent(ch, (int) n[0], n[1]));
    }

    /** A key's or header's text, decoded again only when its bytes differ from the last record's. */
    private static final class Decoded {
        private byte[] bytes;
        private String text;

        String of(Header h) {
            return h == null ? null : of(h.value());
        }

        String of(byte[] b) {
            if (b == null) return null;
            if (bytes == null || !java.util.Arrays.equals(bytes, b)) {
                bytes = b;
                text = new String(b, StandardCharsets.UTF_8);
            }
            return text;
        }
    }

    private JsonNode parse(ConsumerRecord<byte[], byte[]> r, String channel) {
        try {
            return json.readTree(r.value());
        } catch (RuntimeException notJson) {
            log.warn("{}@{}: record of {} is not JSON, skipped", r.topic(), r.offset(), channel);
            return null;
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Pauses a partition while one of its channels holds too much; resumes when all are at half. */
    private void backpressure() {
        Set<TopicPartition> full = new HashSet<>();
        Set<TopicPartition> busy = new HashSet<>();
        for (ChannelQueue q : queues.values()) {
            TopicPartition tp = q.partition;
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
