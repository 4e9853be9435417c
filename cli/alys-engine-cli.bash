# bash completion for alys-engine-cli: options, op names, each op's keys,
# block tags and booleans as values, file names after '@'. Op names and keys
# come from the program itself (--complete), so they follow its schema.
_alys_engine_cli()
{
    local cli=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=
    local key= value i w op=
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    # '=' splits words (COMP_WORDBREAKS): "block=la" arrives as block = la
    if [[ $cur == "=" ]]; then
        key=$prev value=
    elif [[ $prev == "=" ]] && (( COMP_CWORD > 1 )); then
        key=${COMP_WORDS[COMP_CWORD-2]} value=$cur
    elif [[ $cur == *=* ]]; then
        key=${cur%%=*} value=${cur#*=}
    fi

    case $prev in
        -c|--connect|-t|--timeout|-r|--retries|--id|--identity|--curve-server-key) return 0 ;;
        --curve-cert) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        --complete) COMPREPLY=($(compgen -W "ops" -- "$cur")); return 0 ;;
    esac

    # the op: the first word that is neither an option nor an option's value
    for (( i = 1; i < COMP_CWORD; i++ )); do
        w=${COMP_WORDS[i]}
        case $w in
            -c|--connect|-t|--timeout|-r|--retries|--id|--identity|--complete|--curve-cert|--curve-server-key) (( i++ )) ;;
            -*) ;;
            *) op=$w; break ;;
        esac
    done

    if [[ -n $key && -n $op ]]; then
        case $key in
            block|from_block|to_block)
                COMPREPLY=($(compgen -W "latest safe finalized earliest pending" -- "$value")) ;;
            full_transactions)
                COMPREPLY=($(compgen -W "true false" -- "$value")) ;;
            *)
                if [[ $value == @* ]]; then
                    COMPREPLY=($(compgen -f -- "${value#@}"))
                    COMPREPLY=("${COMPREPLY[@]/#/@}")
                fi ;;
        esac
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--connect --timeout --retries --json --id --identity
            --curve-cert --curve-server-key --list-ops --help --version" -- "$cur"))
        return 0
    fi
    if [[ -z $op ]]; then
        COMPREPLY=($(compgen -W "$("$cli" --complete ops 2>/dev/null)" -- "$cur"))
        return 0
    fi
    if [[ $op == keygen ]]; then
        (( i == COMP_CWORD - 1 )) && COMPREPLY=($(compgen -f -- "$cur"))
        return 0
    fi
    if [[ $op == help ]]; then
        (( i == COMP_CWORD - 1 )) \
            && COMPREPLY=($(compgen -W "$("$cli" --complete ops 2>/dev/null)" -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -W "$("$cli" --complete "$op" 2>/dev/null)" -- "$cur"))
    # a key is completed as "key=": no space after it
    [[ ${#COMPREPLY[@]} -gt 0 ]] && type compopt >/dev/null 2>&1 && compopt -o nospace 2>/dev/null
    return 0
}
complete -F _alys_engine_cli alys-engine-cli
