// The seed's hashtag job written with Kafka Streams 4.x, the peer of Runnel's top-hashtags
// pipeline in scripts/bench/streams.py: tweets (text lines) cut at ",2021", split into words,
// hashtags kept, counted per hashtag in hopping windows of 5 minutes every 2 minutes (grace 30 s),
// each window's final counts (suppress until the window closes) ranked into its top 30, written
// to the output topic as "start end tag:count tag:count ...". exactly_once_v2.
// Run as a single source file: java -cp <classpath> TopHashtags.java <bootstrap> <application id>
// <input> <output> <state dir> <commit interval ms>
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;

public class TopHashtags {
    static final int N = 30;

    // The top list as text lines "tag count", best first; ties by tag.
    static String add(String top, String entry) {
        List<String[]> rows = new ArrayList<>();
        String tag = entry.split(" ")[0];
        if (!top.isEmpty()) {
            for (String line : top.split("\n")) {
                String[] r = line.split(" ");
                if (!r[0].equals(tag)) rows.add(r);
            }
        }
        rows.add(entry.split(" "));
        rows.sort((a, b) -> {
            int c = Long.compare(Long.parseLong(b[1]), Long.parseLong(a[1]));
            return c != 0 ? c : a[0].compareTo(b[0]);
        });
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(N, rows.size()); i++) {
            if (i > 0) out.append('\n');
            out.append(rows.get(i)[0]).append(' ').append(rows.get(i)[1]);
        }
        return out.toString();
    }

    public static void main(String[] args) throws InterruptedException {
        Properties p = new Properties();
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        p.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Integer.parseInt(args[5]));
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());

        StreamsBuilder builder = new StreamsBuilder();
        builder.<String, String>stream(args[2])
            .mapValues(line -> line.split(",2021", 2)[0])
            .flatMapValues(text -> Arrays.asList(text.split(" ")))
            .filter((key, word) -> word.startsWith("#"))
            .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(5), Duration.ofSeconds(30))
                            .advanceBy(Duration.ofMinutes(2)))
            .count()
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
            .toStream()
            .map((w, count) -> KeyValue.pair(w.window().start() + " " + w.window().end(),
                                             w.key() + " " + count))
            .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
            .aggregate(() -> "", (window, entry, top) -> add(top, entry),
                       Materialized.with(Serdes.String(), Serdes.String()))
            .toStream()
            .to(args[3]);

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
