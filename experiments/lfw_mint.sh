#!/bin/sh
# experiments/lfw_mint.sh OUTDIR - the MINT paper's face experiments (Tables
# 1, 3 and 5: Vanilla MINT per stage and on all stages, CNN MINT on the first
# stage, the outcome MIA on the embedding) on a network mint trains itself,
# passive and active, plus the set-level audit of identities (issue 10).
#
#   network: `mint train-model` trains an IResNet-18 (narrow stages, CosFace)
#            on LFW identities with >= MIN_IMAGES photos (the first CAP photos
#            of each), split by identity: half the identities are members,
#            the other half, ORL and Yale are external.
#   passive: MINT models trained with `mint train` on the MINT share of the
#            split (features from `mint extract`), evaluated with `mint eval`
#            on the evaluation share: member identities and external
#            identities that no MINT model saw (the network trained on every
#            member image).
#   active:  the same network and split trained together with a CNN MINT
#            head on layer1 (--amint); with AMINT_VANILLA=1 also a second
#            network with a Vanilla head on all four stages.
#   audit:   10 member identities (evaluation share) and 10 held-out LFW
#            identities (evaluation share), each tested as one person by
#            `mint audit` against a reference of the other held-out LFW
#            identities of the evaluation share, with the best passive MINT
#            model (highest AUC against LFW) and with the active head.
#
# ORL and Yale are grey and not aligned: they are prepared by a landmarks
# file this script writes (the ArcFace template placed on the centred square
# of side min(W, H) of each image, so `mint`'s own alignment becomes a centre
# crop and a resize to 112 x 112; grey is replicated to RGB by the
# alignment). Grey faces against colour members are trivially separable, so
# metrics are given against held-out LFW identities (the honest figure) and
# against ORL+Yale separately.
#
# Outputs: OUTDIR/results.json, OUTDIR/table.md (with the commands, date and
# machine), OUTDIR/commands.txt, every log, eval JSON, ROC plot and audit
# report. Steps whose outputs exist are skipped, so a stopped run continues
# where it was (delete OUTDIR to start over).
#
# Environment: MINT (binary, default build/mint), DATA (default
# ../shared/data), EPOCHS (15), WIDTHS (8,16,32,64), EMB (128), CAP (30),
# MIN_IMAGES (10), AMINT_VANILLA (0), ACTIVE (1; 0 = passive only), SPLIT
# (label; sample = members are half of each LFW identity's photos and the
# external images their other photos: image-level membership, no identity
# audits), THREADS (default: all cores).
set -eu
OUT=${1:?usage: experiments/lfw_mint.sh OUTDIR}
MINT=${MINT:-build/mint}
DATA=${DATA:-../shared/data}
EPOCHS=${EPOCHS:-15}
WIDTHS=${WIDTHS:-8,16,32,64}
EMB=${EMB:-128}
CAP=${CAP:-30}
MIN_IMAGES=${MIN_IMAGES:-10}
AMINT_VANILLA=${AMINT_VANILLA:-0}
ACTIVE=${ACTIVE:-1}
SPLIT=${SPLIT:-label}
THREADS=${THREADS:-0}
[ -x "$MINT" ] || { echo "lfw_mint.sh: $MINT not built (make -j2)" >&2; exit 1; }
for d in lfw/images lfw/landmarks_5pt.csv orl yale; do
    [ -e "$DATA/$d" ] || { echo "lfw_mint.sh: $DATA/$d missing (see ../shared/data/README.md)" >&2; exit 1; }
done
mkdir -p "$OUT"
TH=""
[ "$THREADS" = 0 ] || TH="--threads $THREADS"
SPLITOPT=""
[ "$SPLIT" = label ] || SPLITOPT="--split-by $SPLIT"
[ -f "$OUT/started" ] || date +%s > "$OUT/started" # the first run's start
T0=$(cat "$OUT/started")
CMDS="$OUT/commands.txt"
[ -f "$CMDS" ] || : > "$CMDS"
run() { # log the command, then run it
    echo "$*" >> "$CMDS"
    "$@"
}

# ---- data: LFW list, ORL/Yale lists, one landmarks file for all three ----
# LFW identities with >= MIN_IMAGES photos, the first CAP rows of each in the
# landmarks CSV (file-name order)
awk -F, -v d="$DATA/lfw/images" -v cap="$CAP" -v mn="$MIN_IMAGES" '
    NR > 1 { split($1, p, "/"); n[p[1]]++; f[p[1], n[p[1]]] = $1 }
    END { for (k in n) if (n[k] >= mn) for (i = 1; i <= n[k] && i <= cap; i++) print d "/" f[k, i] "," k }' \
    "$DATA/lfw/landmarks_5pt.csv" | LC_ALL=C sort > "$OUT/lfw.csv"
cp "$DATA/lfw/landmarks_5pt.csv" "$OUT/landmarks.csv.tmp"
for set in orl yale; do
    : > "$OUT/$set.csv"
    for f in "$DATA/$set"/*/*.png; do # PNG width and height: bytes 16..23
        printf '%s %s\n' "$f" "$(od -An -tu1 -j16 -N8 "$f" | tr -s ' \n' '  ')"
    done | awk -v out="$OUT/$set.csv" -v d="$DATA/$set/" '
        { w = (($2 * 256 + $3) * 256 + $4) * 256 + $5; h = (($6 * 256 + $7) * 256 + $8) * 256 + $9
          s = w < h ? w : h; ox = (w - s) / 2; oy = (h - s) / 2; k = s / 112
          split("38.2946 51.6963 73.5318 51.5014 56.0252 71.7366 41.5493 92.3655 70.7299 92.2041", t, " ")
          rel = substr($1, length(d) + 1); id = rel; sub(/\/.*/, "", id)
          printf "%s,1,%.2f,%.2f,%.2f,%.2f", rel, ox, oy, ox + s, oy + s
          for (i = 1; i <= 10; i += 2) printf ",%.4f,%.4f", ox + t[i] * k, oy + t[i + 1] * k
          printf "\n"
          print $1 "," id > out }'
done >> "$OUT/landmarks.csv.tmp"
mv "$OUT/landmarks.csv.tmp" "$OUT/landmarks.csv"
LM="$OUT/landmarks.csv"
echo "data: $(wc -l < "$OUT/lfw.csv") LFW images, $(wc -l < "$OUT/orl.csv") ORL, $(wc -l < "$OUT/yale.csv") Yale"

NET="--data $OUT/lfw.csv --external $OUT/orl.csv --external $OUT/yale.csv --landmarks $LM
     --min-images $MIN_IMAGES --members 0.5 --mint-share 0.5 --arch iresnet18
     --widths $WIDTHS --emb $EMB --loss cosface --epochs $EPOCHS --batch 64 --lr 0.1 --seed 1 $SPLITOPT $TH"

train_net() { # tag [extra train-model options]
    tag=$1
    shift
    [ -f "$OUT/$tag.mint" ] && { echo "== $tag: $OUT/$tag.mint exists, kept"; return; }
    echo "== $tag: train-model"
    rm -f "$OUT/$tag.mint.partial"
    # shellcheck disable=SC2086
    run nice "$MINT" train-model $NET "$@" --out "$OUT/$tag.mint" > "$OUT/$tag-train.log" 2>&1 ||
        { tail -5 "$OUT/$tag-train.log" >&2; exit 1; }
    tr '\r' '\n' < "$OUT/$tag-train.log" | grep -v '^$' | grep -E 'step ([0-9]+)/\1:|^wrote|^split' | tail -3
}

# feature folders of a network's split: the MINT share, the evaluation share
# (external split into LFW and grey ORL/Yale); raw maps (CNN MINT reads
# layer1's; the vanilla models reduce every tap to its channel maxima)
features() { # tag
    S="$OUT/$1-split"
    grep -v "^$DATA/lfw/" "$S/eval-external.csv" > "$S/eval-external-grey.csv" || true
    grep "^$DATA/lfw/" "$S/eval-external.csv" > "$S/eval-external-lfw.csv"
    for l in mint-members mint-external eval-members eval-external-lfw eval-external-grey; do
        [ -f "$OUT/$1-f-$l/index.csv" ] && continue
        rm -rf "$OUT/$1-f-$l"
        run nice "$MINT" extract --model "$OUT/$1.mint" --list "$S/$l.csv" --landmarks "$LM" \
            --taps layer1,layer2,layer3,layer4,embedding --pool none --dtype f16 \
            --out "$OUT/$1-f-$l" $TH 2>/dev/null
    done
}

mint_model() { # tag name kind taps [options]
    tag=$1 name=$2 kind=$3 taps=$4
    shift 4
    [ -f "$OUT/$tag-$name.mint" ] && return
    run nice "$MINT" train --kind "$kind" --taps "$taps" --members "$OUT/$tag-f-mint-members" \
        --external "$OUT/$tag-f-mint-external" --seed 1 --quiet "$@" \
        --out "$OUT/$tag-$name.mint" $TH > "$OUT/$tag-$name-train.log" 2>&1 ||
        { cat "$OUT/$tag-$name-train.log" >&2; exit 1; }
}

evaluate() { # tag model-file name (against LFW: --store, so audits show it)
    for ext in grey lfw; do
        [ -f "$OUT/eval-$3-$ext.json" ] && continue
        store=""
        [ $ext = grey ] || store=--store
        run nice "$MINT" eval --mint "$2" --members "$OUT/$1-f-eval-members" \
            --external "$OUT/$1-f-eval-external-$ext" --json "$OUT/eval-$3-$ext.json" \
            --roc "$OUT/eval-$3-$ext.png" $store $TH > /dev/null 2>&1 ||
            { echo "lfw_mint.sh: eval of $3 failed" >&2; exit 1; }
    done
}

# ---- passive ----
train_net passive
features passive
echo "== passive: MINT models on the MINT share"
for t in layer1 layer2 layer3 layer4; do
    mint_model passive "vanilla-$t" vanilla "$t"
done
mint_model passive vanilla-all vanilla layer1,layer2,layer3,layer4
mint_model passive cnn-layer1 cnn layer1 --min-hidden 64
mint_model passive outcome outcome embedding
PASSIVE="vanilla-layer1 vanilla-layer2 vanilla-layer3 vanilla-layer4 vanilla-all cnn-layer1 outcome"
for m in $PASSIVE; do
    evaluate passive "$OUT/passive-$m.mint" "passive-$m"
done

# ---- active ----
ACTIVE_NETS=""
ACTIVE_LIST=""
if [ "$ACTIVE" = 1 ]; then
train_net active --amint --amint-taps layer1 --amint-kind cnn --amint-min-hidden 64
features active
evaluate active "$OUT/active-amint.mint" active-cnn-layer1
ACTIVE_NETS=active
ACTIVE_LIST="cnn-layer1"
if [ "$AMINT_VANILLA" = 1 ]; then
    train_net activev --amint --amint-taps layer1,layer2,layer3,layer4 --amint-kind vanilla
    features activev
    evaluate activev "$OUT/activev-amint.mint" active-vanilla-all
    ACTIVE_NETS="$ACTIVE_NETS activev"
    ACTIVE_LIST="$ACTIVE_LIST vanilla-all"
fi
fi

# ---- metrics ----
jnum() { # file after key: the value of the first "key" at or after the line naming "after"
    awk -v a="\"$2\"" -v k="\"$3\":" 'index($0, a) { f = 1 }
        f && index($0, k) { sub(/.*": */, ""); sub(/,$/, ""); print; exit }' "$1"
}
metrics() { # name ext -> "acc auc tpr"
    f="$OUT/eval-$1-$2.json"
    echo "$(jnum "$f" at_training_threshold balanced_accuracy) $(jnum "$f" auc auc) $(jnum "$f" tpr_at_fpr tpr)"
}
BEST=$(for m in $PASSIVE; do echo "$(jnum "$OUT/eval-passive-$m-lfw.json" auc auc) $m"; done |
       sort -g -r | head -1 | cut -d' ' -f2)
echo "best passive MINT model (AUC against held-out LFW identities): $BEST"

# ---- set-level audits: one person per sub-folder, against held-out LFW people ----
# 10 member and 10 held-out identities of the evaluation share, drawn in the
# order of the CRC (cksum) of their names: a fixed pseudo-random draw that does
# not depend on the number of photos (the most photographed people score more
# like members: docs/experiments.md); the other held-out LFW identities are the
# reference
pick() {
    cut -d, -f2 "$1" | sort -u | while read -r id; do
        echo "$(printf '%s' "$id" | cksum | cut -d' ' -f1) $id"
    done | sort -n | head -10 | cut -d' ' -f2
}
audit_set() { # tag mint-model name
    S="$OUT/$1-split"
    pick "$S/eval-members.csv" > "$OUT/$1-audit-members.txt"
    pick "$S/eval-external-lfw.csv" > "$OUT/$1-audit-heldout.txt"
    if [ ! -f "$OUT/$1-f-reference/index.csv" ]; then
        grep -v -F -f "$OUT/$1-audit-heldout.txt" "$S/eval-external-lfw.csv" > "$S/audit-reference.csv"
        rm -rf "$OUT/$1-f-reference"
        run nice "$MINT" extract --model "$OUT/$1.mint" --list "$S/audit-reference.csv" \
            --landmarks "$LM" --taps layer1,layer2,layer3,layer4,embedding --pool none \
            --dtype f16 --out "$OUT/$1-f-reference" $TH 2>/dev/null
    fi
    for side in members heldout; do
        rep="$OUT/audit-$3-$side.json"
        [ -f "$rep" ] && continue
        src=eval-members
        [ $side = members ] || src=eval-external-lfw
        dir="$OUT/$1-audit-$side"
        rm -rf "$dir"
        while read -r id; do
            mkdir -p "$dir/$id"
            grep ",$id\$" "$S/$src.csv" | cut -d, -f1 | while read -r f; do
                ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$dir/$id/"
            done
        done < "$OUT/$1-audit-$side.txt"
        run nice "$MINT" audit --model "$OUT/$1.mint" --mint "$2" --landmarks "$LM" \
            --reference "$OUT/$1-f-reference" --identity labels --report "$rep" $TH "$dir" \
            > "$OUT/audit-$3-$side.log" 2>&1 || { cat "$OUT/audit-$3-$side.log" >&2; exit 1; }
    done
}
MODES=passive
[ "$ACTIVE" = 0 ] || MODES="passive active"
AUDITS=""
if [ "$SPLIT" = label ]; then
    echo "== audits"
    audit_set passive "$OUT/passive-$BEST.mint" "passive-$BEST"
    AUDITS="passive-$BEST"
    if [ "$ACTIVE" = 1 ]; then
        audit_set active "$OUT/active-amint.mint" active-cnn-layer1
        AUDITS="$AUDITS active-cnn-layer1"
    fi
fi

# ---- results.json and table.md ----
T1=$(date +%s)
idrows() { # audit report -> "identity images p_value" lines of per_identity
    awk '/"per_identity"/ { f = 1 } f && /"identity":/ { gsub(/.*": *"|",?$/, ""); id = $0 }
         f && /"images":/ { gsub(/.*": *|,$/, ""); n = $0 }
         f && /"p_value":/ { gsub(/.*": *|,$/, ""); print id, n, $0 }' "$1"
}
flagged() { idrows "$1" | awk '$3 < 0.05 { k++ } END { print k + 0 "/" NR }'; }
setp() { jnum "$1" set_test p_value; }
trainacc() { sed -n 's/.*training accuracy \([0-9.]*\).*/\1/p' "$OUT/$1-train.log" | tail -1; }
testacc() { # task accuracy on external photos of member classes (sample split), else null
    a=$(sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p' "$OUT/$1-train.log" | tail -1)
    echo "${a:-null}"
}
splitn() { jnum "$OUT/$1-split/split.json" "$2" "$2"; }
CPU=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
MACHINE="$(uname -sm), $CPU, $(nproc) cores"
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
{
    echo "{"
    echo "  \"date\": \"$DATE\", \"machine\": \"$MACHINE\", \"seconds\": $((T1 - T0)),"
    echo "  \"settings\": {\"arch\": \"iresnet18\", \"widths\": \"$WIDTHS\", \"emb\": $EMB, \"loss\": \"cosface s 64 m 0.4\","
    echo "               \"epochs\": $EPOCHS, \"lfw_identities_min_images\": $MIN_IMAGES, \"images_per_identity_cap\": $CAP,"
    echo "               \"members\": 0.5, \"mint_share\": 0.5, \"split_by\": \"$SPLIT\"},"
    echo "  \"networks\": {"
    sep=""
    for n in passive $ACTIVE_NETS; do
        printf '%s    "%s": {"training_accuracy": %s, "test_accuracy": %s, "classes": %s, "mint_members": %s, "mint_external": %s, "eval_members": %s, "eval_external": %s}' \
            "$sep" "$n" "$(trainacc $n)" "$(testacc $n)" "$(splitn $n classes)" "$(splitn $n mint_members)" \
            "$(splitn $n mint_external)" "$(splitn $n eval_members)" "$(splitn $n eval_external)"
        sep=",
"
    done
    echo
    echo "  },"
    for mode in $MODES; do
        echo "  \"$mode\": {"
        list=$PASSIVE
        [ $mode = passive ] || list=$ACTIVE_LIST
        sep=""
        for m in $list; do
            printf '%s    "%s": {' "$sep" "$m"
            s2=""
            for ext in lfw grey; do
                set -- $(metrics "$mode-$m" $ext)
                key=heldout_lfw
                [ $ext = lfw ] || key=orl_yale
                printf '%s"%s": {"balanced_accuracy": %s, "auc": %s, "tpr_at_1pct_fpr": %s}' "$s2" $key "$1" "$2" "$3"
                s2=", "
            done
            printf '}'
            sep=",
"
        done
        echo
        echo "  },"
    done
    echo "  \"audit\": {"
    sep=""
    for a in $AUDITS; do
        printf '%s    "%s": {' "$sep" "$a"
        s2=""
        for side in members heldout; do
            f="$OUT/audit-$a-$side.json"
            printf '%s"%s": {"set_p_value": %s, "flagged_at_0.05": "%s", "per_identity": [' "$s2" $side "$(setp "$f")" "$(flagged "$f")"
            idrows "$f" | awk '{ printf "%s{\"identity\": \"%s\", \"images\": %s, \"p_value\": %s}", (NR > 1 ? ", " : ""), $1, $2, $3 }'
            printf ']}'
            s2=", "
        done
        printf '}'
        sep=",
"
    done
    echo
    echo "  }"
    echo "}"
} > "$OUT/results.json.tmp"
mv "$OUT/results.json.tmp" "$OUT/results.json"

{
    echo "LFW MINT experiment (experiments/lfw_mint.sh), $DATE, $MACHINE, $((T1 - T0)) s."
    echo
    echo "Network: IResNet-18, widths $WIDTHS, embedding $EMB, CosFace, $EPOCHS epochs, split by $SPLIT;"
    echo "$(splitn passive classes) member identities; training accuracy passive $(trainacc passive)$(
        [ "$ACTIVE" = 1 ] && echo ", active $(trainacc active)")$(
        [ "$SPLIT" = label ] || echo "; test accuracy passive $(testacc passive)")."
    echo
    echo "| MINT model | mode | bal. acc. (LFW) | AUC (LFW) | TPR@1%FPR (LFW) | bal. acc. (ORL+Yale) | AUC (ORL+Yale) |"
    echo "|---|---|---|---|---|---|---|"
    for mode in $MODES; do
        list=$PASSIVE
        [ $mode = passive ] || list=$ACTIVE_LIST
        for m in $list; do
            set -- $(metrics "$mode-$m" lfw) $(metrics "$mode-$m" grey)
            printf '| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f |\n' "$m" $mode "$1" "$2" "$3" "$4" "$5"
        done
    done
    if [ -n "$AUDITS" ]; then
    echo
    echo "Set-level audits (one person each, identity-level rank test against the other held-out"
    echo "LFW identities of the evaluation share; flagged = p < 0.05):"
    echo
    echo "| MINT model | member identities flagged | set p (members) | held-out identities flagged | set p (held-out) |"
    echo "|---|---|---|---|---|"
    for a in $AUDITS; do
        fm="$OUT/audit-$a-members.json"
        fh="$OUT/audit-$a-heldout.json"
        echo "| $a | $(flagged "$fm") | $(setp "$fm") | $(flagged "$fh") | $(setp "$fh") |"
    done
    echo
    echo "Per identity (p-value of the identity-level rank test; images audited):"
    echo
    printf '| identity | role | images |'
    for a in $AUDITS; do printf ' p %s |' "$a"; done
    printf '\n|---|---|---|'
    for a in $AUDITS; do printf -- '---|'; done
    echo
    for side in members heldout; do
        role=member
        [ $side = members ] || role=held-out
        for a in $AUDITS; do idrows "$OUT/audit-$a-$side.json" | sed "s/^/$a /"; done |
            awk -v r=$role -v order="$AUDITS" '
                { if (!($2 in n)) { ids[++k] = $2; n[$2] = $3 } p[$1, $2] = $4 }
                END { m = split(order, a, " ")
                      for (i = 1; i <= k; i++) {
                          printf "| %s | %s | %s |", ids[i], r, n[ids[i]]
                          for (j = 1; j <= m; j++) printf " %.3f |", p[a[j], ids[i]]
                          printf "\n" } }'
    done
    fi
    echo
    echo "Commands:"
    echo
    echo '```'
    sed "s|$OUT|OUTDIR|g" "$CMDS" | awk '!seen[$0]++'
    echo '```'
} > "$OUT/table.md.tmp"
mv "$OUT/table.md.tmp" "$OUT/table.md"
cat "$OUT/table.md"
