// The seed's game-event job written with Kafka Streams 4.x, the peer of Runnel's game-events
// pipeline in scripts/bench/streams.py: JSON events from the input topic, each sent to the topic
// of its event_type (purchase_sword, join_guild, anything else), events that are not JSON objects
// with a string event_type to a dead-letter topic. exactly_once_v2.
// Run as a single source file: java -cp <classpath> RouteEvents.java <bootstrap> <application id>
// <input> <state dir> <commit interval ms>
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;

public class RouteEvents {
    static final ObjectMapper JSON = new ObjectMapper();

    // The topic an event goes to.
    static String topicOf(String value) {
        try {
            JsonNode e = JSON.readTree(value);
            JsonNode type = e == null ? null : e.get("event_type");
            if (type == null || !type.isTextual()) return "events.dead-letter";
            switch (type.asText()) {
                case "purchase_sword": return "sword-purchases";
                case "join_guild": return "guild-joins";
                default: return "other-events";
            }
        } catch (Exception bad) {
            return "events.dead-letter";
        }
    }

    public static void main(String[] args) throws InterruptedException {
        Properties p = new Properties();
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        p.put(StreamsConfig.STATE_DIR_CONFIG, args[3]);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Integer.parseInt(args[4]));
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());

        StreamsBuilder builder = new StreamsBuilder();
        builder.<String, String>stream(args[2])
            .to((key, value, context) -> topicOf(value));

        KafkaStreams streams = new KafkaStreams(builder.build(), p);
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING) System.out.println("RUNNING");
            if (now == KafkaStreams.State.ERROR) done.countDown();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            done.countDown();
        }));
        streams.start();
        done.await();
    }
}
