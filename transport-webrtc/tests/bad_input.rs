//! Bad input gets typed errors and changes nothing.

mod common;

use caucus_media::{IceCandidate, SessionDescription, Target, Transport, TransportError};
use common::*;

fn candidate(s: &str) -> IceCandidate {
    IceCandidate {
        candidate: s.into(),
        sdp_mid: None,
        sdp_mline_index: None,
        username_fragment: None,
    }
}

#[tokio::test]
async fn bad_sdp_candidates_and_answers_are_refused() {
    let t = start();
    let unknown = peer(BOB);

    // Unknown peer.
    let offer = Client::new().publish_offer();
    assert!(matches!(
        t.publish_offer(&unknown, &offer).await,
        Err(TransportError::UnknownPeer(_))
    ));
    assert!(matches!(
        t.trickle(&unknown, Target::Publish, &Client::new().candidate())
            .await,
        Err(TransportError::UnknownPeer(_))
    ));
    assert!(matches!(
        t.subscribe_answer(&unknown, &SessionDescription::answer("v=0"))
            .await,
        Err(TransportError::UnknownPeer(_))
    ));

    let mut events = t.attach(&room(), &peer(ALICE)).await.unwrap();
    let alice = peer(ALICE);
    // Garbage and half SDP.
    for sdp in ["", "garbage", "v=0\r\n", "v=0\r\nm=audio 9 RTP/AVP 0\r\n"] {
        assert!(
            matches!(
                t.publish_offer(&alice, &SessionDescription::offer(sdp))
                    .await,
                Err(TransportError::InvalidSdp(_))
            ),
            "{sdp:?}"
        );
    }
    // An answer given as the publish offer.
    assert!(matches!(
        t.publish_offer(&alice, &SessionDescription::answer(offer.sdp.clone()))
            .await,
        Err(TransportError::InvalidSdp(_))
    ));
    // Malformed candidates; the end-of-candidates marker is fine.
    for c in ["nonsense", "candidate:1 1 udp", "candidate:x y z w v u t s"] {
        assert!(
            matches!(
                t.trickle(&alice, Target::Publish, &candidate(c)).await,
                Err(TransportError::InvalidCandidate(_))
            ),
            "{c:?}"
        );
    }
    t.trickle(&alice, Target::Publish, &candidate(""))
        .await
        .unwrap();
    // A candidate before the publish connection exists is queued.
    t.trickle(&alice, Target::Publish, &Client::new().candidate())
        .await
        .unwrap();

    // The first subscribe offer is answered; a second answer has no offer.
    let mut sub = Client::new();
    let o = next_offer(&mut events).await;
    let a = sub.answer(&o);
    t.subscribe_answer(&alice, &a).await.unwrap();
    assert!(matches!(
        t.subscribe_answer(&alice, &a).await,
        Err(TransportError::WrongState(_))
    ));
    // A bad answer text is InvalidSdp.
    assert!(matches!(
        t.subscribe_answer(&alice, &SessionDescription::answer("garbage"))
            .await,
        Err(TransportError::InvalidSdp(_))
    ));

    // Still working: a real publish offer is answered.
    let mut client = Client::new();
    let offer = client.publish_offer();
    let answer = t.publish_offer(&alice, &offer).await.unwrap();
    assert_eq!(answer.kind, "answer");
    client.accept_answer(&answer);
}
