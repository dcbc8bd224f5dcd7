"""The seed tutorial's Spark job, as a user would point it at Runnel: tweets (JSON with text and
created_at) from a Kafka topic, hashtags counted over window(created_at, "5 minutes",
"2 minutes") with a 10-minute watermark, the counts written back to a Kafka topic as
{"start", "word"} -> count, the query's progress kept in a checkpoint. It processes what the
topic holds and stops (trigger availableNow), so a test can run it, add input and run it again.

Run: python hashtags.py <bootstrap> <tweets topic> <counts topic> <checkpoint dir> <jars>
"""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

bootstrap, source, sink, checkpoint, jars = sys.argv[1:6]
spark = (SparkSession.builder.master("local[2]").appName("hashtag-windows")
         .config("spark.jars", jars)
         .config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.shuffle.partitions", "2")
         .getOrCreate())
spark.sparkContext.setLogLevel("WARN")

tweets = (spark.readStream.format("kafka")
          .option("kafka.bootstrap.servers", bootstrap)
          .option("subscribe", source)
          .option("startingOffsets", "earliest")
          .load()
          .select(F.from_json(F.col("value").cast("string"),
                              "text STRING, created_at TIMESTAMP").alias("tweet"))
          .select("tweet.*"))
counts = (tweets.withWatermark("created_at", "10 minutes")
          .select(F.explode(F.split("text", " ")).alias("word"), "created_at")
          .where(F.col("word").startswith("#"))
          .groupBy(F.window("created_at", "5 minutes", "2 minutes"), "word")
          .count())
query = (counts.select(
            F.to_json(F.struct(F.date_format("window.start", "yyyy-MM-dd HH:mm").alias("start"),
                               "word")).alias("key"),
            F.col("count").cast("string").alias("value"))
         .writeStream.format("kafka")
         .option("kafka.bootstrap.servers", bootstrap)
         .option("topic", sink)
         .option("checkpointLocation", checkpoint)
         .outputMode("update")
         .trigger(availableNow=True)
         .start())
query.awaitTermination()
spark.stop()
