// The seed tutorial's Spark Streaming (DStream) job, in Java: tweets as "text,2021-..." lines
// read with Spark's Kafka 0-10 direct stream (KafkaUtils.createDirectStream, Subscribe,
// PreferConsistent), hashtags counted with reduceByKeyAndWindow over 30 seconds every 10, the
// top 30 of each window printed, and the offsets of each batch committed to the group
// afterwards (CanCommitOffsets.commitAsync, the connector's documented way).
//
// Built and submitted by integration/test_spark.py as a user would:
//   javac + jar, then spark-submit --jars <the connector's jars> --class HashtagsDStream app.jar
//       <bootstrap> <topic> <group> <checkpoint dir>
// Each window prints one line: "window #tag=count #tag=count ...", by count then tag.
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.spark.SparkConf;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaInputDStream;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.kafka010.CanCommitOffsets;
import org.apache.spark.streaming.kafka010.ConsumerStrategies;
import org.apache.spark.streaming.kafka010.HasOffsetRanges;
import org.apache.spark.streaming.kafka010.KafkaUtils;
import org.apache.spark.streaming.kafka010.LocationStrategies;
import org.apache.spark.streaming.kafka010.OffsetRange;
import scala.Tuple2;

public class HashtagsDStream {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2], checkpoint = args[3];
        SparkConf conf = new SparkConf().setAppName("hashtags-dstream").setMaster("local[2]");
        JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.seconds(1));
        // reduceByKeyAndWindow with an inverse function keeps state: Spark needs a checkpoint.
        ssc.checkpoint(checkpoint);
        Map<String, Object> kafkaParams = Map.of(
                "bootstrap.servers", bootstrap,
                "key.deserializer", StringDeserializer.class,
                "value.deserializer", StringDeserializer.class,
                "group.id", group,
                "auto.offset.reset", "earliest",
                "enable.auto.commit", false);
        JavaInputDStream<ConsumerRecord<String, String>> stream = KafkaUtils.createDirectStream(
                ssc, LocationStrategies.PreferConsistent(),
                ConsumerStrategies.<String, String>Subscribe(List.of(topic), kafkaParams));

        JavaPairDStream<String, Integer> counts = stream
                .map(ConsumerRecord::value)
                .map(line -> line.split(",2021")[0])
                .flatMap(text -> Arrays.asList(text.split(" ")).iterator())
                .filter(word -> word.startsWith("#"))
                .mapToPair(tag -> new Tuple2<>(tag, 1))
                .reduceByKeyAndWindow((a, b) -> a + b, (a, b) -> a - b,
                        Durations.seconds(30), Durations.seconds(10));
        counts.foreachRDD(rdd -> {
            List<Tuple2<String, Integer>> top = rdd.filter(t -> t._2() > 0).collect().stream()
                    .sorted((x, y) -> x._2().equals(y._2()) ? x._1().compareTo(y._1())
                                                            : y._2() - x._2())
                    .limit(30)
                    .collect(Collectors.toList());
            System.out.println("window " + top.stream().map(t -> t._1() + "=" + t._2())
                    .collect(Collectors.joining(" ")));
        });
        stream.foreachRDD(rdd -> {
            OffsetRange[] ranges = ((HasOffsetRanges) rdd.rdd()).offsetRanges();
            ((CanCommitOffsets) stream.inputDStream()).commitAsync(ranges);
        });
        ssc.start();
        ssc.awaitTermination();
    }
}
