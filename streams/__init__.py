"""woosync's runtime: settings, topic registry, Avro codec, the Faust app and its edges."""
