// A windowed stream-stream join: attribute clicks to the ad impression they follow within 10 s.
// Impressions never clicked come out once their window closes (left join, no early [imp, null]);
// attributed clicks are counted per campaign in 1-minute tumbling windows, emitted once final.
import { Serdes } from "../src/serde/index.ts";
import {
  JoinWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  type Topology,
  WindowedSerdes,
} from "../src/streams/index.ts";

export interface Impression {
  readonly campaign: string;
  readonly ad: string;
}
export interface Click {
  readonly ad: string;
}
export interface Attribution {
  readonly campaign: string;
  readonly ad: string;
  readonly clicked: boolean;
}

export function adAttributionTopology(): Topology {
  const b = new StreamsBuilder();
  const impressions = b.stream("impressions", {
    keySerde: Serdes.String,
    valueSerde: Serdes.Json<Impression>(),
  });
  const clicks = b.stream("clicks", { keySerde: Serdes.String, valueSerde: Serdes.Json<Click>() });
  const attributed = impressions.leftJoin(
    clicks,
    (imp, click): Attribution => ({ campaign: imp.campaign, ad: imp.ad, clicked: click !== null }),
    JoinWindows.ofTimeDifferenceAndGrace(10_000, 2_000).before(0),
  );
  attributed.to("attributions", { keySerde: Serdes.String, valueSerde: Serdes.Json<Attribution>() });
  attributed
    .filter((_id, a) => a.clicked)
    .groupBy((_id, a) => a.campaign, { keySerde: Serdes.String })
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000))
    .count({ storeName: "clicks-per-campaign" })
    .suppress(Suppressed.untilWindowCloses())
    .toStream()
    .to("campaign-clicks", {
      keySerde: WindowedSerdes.timeWindowed(Serdes.String, 60_000),
      valueSerde: Serdes.Json<number>(),
    });
  return b.build();
}
