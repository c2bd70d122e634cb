package io.statefulroute.sample;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import io.statefulroute.core.StatefulRouteException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Demo mode: players keep joining, playing (each request routed again) and leaving, and a
 * scripted cycle drains pod 1, undrains it, kills pod 2 and restarts it, so the page shows
 * balancing, draining and relinking without anyone pressing a button.
 */
@Component
@ConditionalOnProperty(name = "sample.demo.enabled", havingValue = "true", matchIfMissing = true)
class DemoScenario {

    private static final Logger logger = LoggerFactory.getLogger(DemoScenario.class);

    private final Gateway gateway;

    private final LobbyPods pods;

    private final SampleProperties.Demo demo;

    /** Players of the demo, with when each leaves. */
    private final Map<String, Instant> playing = new ConcurrentHashMap<>();

    private final AtomicLong nextPlayer = new AtomicLong();

    private long second;

    DemoScenario(Gateway gateway, LobbyPods pods, SampleProperties sample) {
        this.gateway = gateway;
        this.pods = pods;
        this.demo = sample.demo();
    }

    @Scheduled(fixedRate = 1000)
    void tick() {
        if (!this.pods.isSimulated()) {
            return;
        }
        script(this.second++ % this.demo.cycle().toSeconds());
        Instant now = Instant.now();
        for (int i = 0; i < this.demo.playersPerSecond(); i++) {
            String uid = "player-" + this.nextPlayer.incrementAndGet();
            long playMillis = this.demo.playTime().toMillis();
            this.playing.put(uid, now.plusMillis(ThreadLocalRandom.current().nextLong(playMillis / 2, playMillis + 1)));
        }
        this.playing.forEach((uid, leaveAt) -> {
            try {
                if (now.isAfter(leaveAt)) {
                    this.playing.remove(uid);
                    this.gateway.leave(uid);
                }
                else if (ThreadLocalRandom.current().nextInt(3) == 0 || !this.gateway.players().contains(uid)) {
                    // A request of this player (or the first one): routed to the pod holding the player.
                    this.gateway.route(this.gateway.lobbyService(), uid);
                }
            }
            catch (StatefulRouteException ex) {
                logger.debug("Player {} not routed: {}", uid, ex.getMessage());
            }
        });
    }

    private void script(long at) {
        if (this.pods.all().size() < 3) {
            return;
        }
        LobbyPod one = this.pods.find(1).orElseThrow();
        LobbyPod two = this.pods.find(2).orElseThrow();
        if (at == 15) {
            logger.info("Demo: draining pod 1: it keeps its players, new players go to the other pods");
            one.drain();
        }
        else if (at == 25) {
            logger.info("Demo: pod 1 takes new players again");
            one.undrain();
        }
        else if (at == 30) {
            logger.info("Demo: pod 2 dies (its heartbeats stop); its players move to live pods on their next request");
            two.kill();
        }
        else if (at == 45) {
            logger.info("Demo: pod 2 restarts, empty and READY");
            two.restart();
        }
    }

}
