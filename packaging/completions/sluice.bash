# bash completion for sluice(1). Subcommands and options are read from the
# program's own --help, so the completion never drifts from the binary.
# shellcheck shell=bash

# Prints the words a --help section lists: "sub" for Subcommands, "opt" for
# the long and short options.
_sluice_help_words() {
    local kind=$1
    shift
    "$@" --help 2>/dev/null | awk -v kind="$kind" '
        /^[A-Za-z]+:$/ { section = $0; next }
        kind == "sub" && section == "Subcommands:" && /^  [a-z]/ { print $1 }
        kind == "opt" && section == "Options:" && /^  -/ {
            n = split($1, names, ",")
            for (i = 1; i <= n; i++) { sub(/[:=].*$/, "", names[i]); print names[i] }
        }'
}

_sluice() {
    local cur prev words cword
    _init_completion || return

    # The subcommand chain so far: sluice agent replay ...
    local -a chain=("${words[0]}")
    local i subs
    for ((i = 1; i < cword; i++)); do
        [[ ${words[i]} == -* ]] && continue
        subs=$(_sluice_help_words sub "${chain[@]}")
        if [[ " ${subs//$'\n'/ } " == *" ${words[i]} "* ]]; then
            chain+=("${words[i]}")
        fi
    done

    case $prev in
        -c | --config | --report | --ssh-key | --known-hosts | *-file)
            _filedir
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_sluice_help_words opt "${chain[@]}")" -- "$cur")
        return
    fi
    subs=$(_sluice_help_words sub "${chain[@]}")
    if [[ -n $subs ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
    else
        _filedir
    fi
} && complete -F _sluice sluice
