"""A recall-quality corpus for memory: facts about one person (``FACTS``), distractors
made from templates (``distractors``), and questions with the facts they should recall
(``QUERIES``: question, indexes into ``FACTS``). Written for the bench's recall@5."""

from __future__ import annotations

import random

FACTS = [
    "My dog is called Rex and he is a beagle",  # 0
    "My sister Anna lives in Lyon with her husband Marc",  # 1
    "I work as a nurse at the Saint Mary hospital",  # 2
    "I am allergic to peanuts",  # 3
    "My favourite tea is oolong, no sugar",  # 4
    "I drive a red Tesla Model 3",  # 5
    "My daughter Lily was born on 4 March 2019",  # 6
    "I prefer short answers without bullet points",  # 7
    "My dentist is Dr. Okafor on Baker Street",  # 8
    "I play the cello in a community orchestra on Thursdays",  # 9
    "My wife Sofia is a software engineer at a bank",  # 10
    "I support Arsenal football club",  # 11
    "I am learning Japanese and practise every morning",  # 12
    "My mother's birthday is on 12 August",  # 13
    "I live in a flat in Bristol near the harbour",  # 14
    "My laptop is a ThinkPad X1 running Debian",  # 15
    "I run a half marathon every October",  # 16
    "My cat Miso is grey and very shy",  # 17
    "I am vegetarian since 2015",  # 18
    "I take the 7:40 train to work",  # 19
    "My brother Tom is a chef in Barcelona",  # 20
    "I prefer metric units in answers",  # 21
    "My manager at work is called Priya",  # 22
    "I am saving for a trip to Iceland next summer",  # 23
    "My bike is a green Brompton",  # 24
    "I use Neovim as my editor",  # 25
    "My favourite author is Ursula Le Guin",  # 26
    "My son Noah plays the drums",  # 27
    "I have a gluten intolerance",  # 28
    "My GP appointment is every three months for blood pressure",  # 29
    "I am a member of the climbing gym on Cotham Hill",  # 30
    "My best friend Jonas lives in Berlin",  # 31
    "I like jazz, especially Bill Evans",  # 32
    "My passport expires in May 2027",  # 33
    "I grow tomatoes and basil on the balcony",  # 34
    "My father was a carpenter",  # 35
    "I usually wake up at 6 in the morning",  # 36
    "I do not drink coffee after noon",  # 37
    "My home internet provider is Zen",  # 38
    "I volunteer at the food bank on Saturdays",  # 39
    "My car insurance renews in January",  # 40
    "I am afraid of flying",  # 41
    "My wedding anniversary is on 21 June",  # 42
    "I speak French and German",  # 43
    "My favourite film is Spirited Away",  # 44
    "I keep my notes in plain Markdown files",  # 45
    "My neighbour Mrs Patel waters the plants when I travel",  # 46
    "I have two monitors at my desk",  # 47
    "I donate blood twice a year",  # 48
    "My piano teacher is called Elena",  # 49
]

QUERIES: list[tuple[str, list[int]]] = [
    ("what's my dog's name?", [0]),
    ("where does Anna live?", [1]),
    ("what is my job?", [2]),
    ("any food allergies I have?", [3, 28]),
    ("which tea do I like?", [4]),
    ("what car do I drive?", [5]),
    ("when was Lily born?", [6]),
    ("how should you format answers for me?", [7, 21]),
    ("who is my dentist?", [8]),
    ("what instrument do I play?", [9]),
    ("what does Sofia do?", [10]),
    ("which football club do I support?", [11]),
    ("what language am I learning?", [12]),
    ("when is mum's birthday? my mother", [13]),
    ("which city do I live in?", [14]),
    ("what laptop do I have?", [15]),
    ("when is the half marathon?", [16]),
    ("tell me about my cat", [17]),
    ("am I vegetarian?", [18]),
    ("what train do I take to work?", [19]),
    ("what does my brother Tom do?", [20]),
    ("who is my manager?", [22]),
    ("where am I travelling next summer?", [23]),
    ("what bike do I ride?", [24]),
    ("which editor do I use?", [25]),
    ("who is my favourite author?", [26]),
    ("what does Noah play?", [27]),
    ("how often do I see the GP?", [29]),
    ("where do I go climbing?", [30]),
    ("where does Jonas live?", [31]),
    ("what music do I like?", [32]),
    ("when does my passport expire?", [33]),
    ("what do I grow on the balcony?", [34]),
    ("what did my father do?", [35]),
    ("what time do I wake up?", [36]),
    ("can I have coffee in the afternoon?", [37]),
    ("who is my internet provider?", [38]),
    ("what do I do on Saturdays?", [39]),
    ("when does the car insurance renew?", [40]),
    ("when is our wedding anniversary?", [42]),
    ("which languages do I speak?", [43]),
    ("what is my favourite film?", [44]),
    ("who waters the plants when I travel?", [46]),
    ("who teaches me piano?", [49]),
]

_NAMES = ["Ben", "Clara", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jade", "Kai", "Luca", "Mia"]
_TOPICS = [
    "the quarterly report",
    "the garden shed",
    "the budget spreadsheet",
    "a birthday party",
    "the server migration",
    "a holiday in Spain",
    "the kitchen renovation",
    "the school fair",
    "the new website",
    "the book club",
    "a charity run",
    "the broken boiler",
]
_PLACES = ["Leeds", "Porto", "Oslo", "Kyoto", "Boston", "Cork", "Ghent", "Turin"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Friday", "Sunday"]
_TEMPLATES = [
    "Meeting with {name} about {topic} on {day}",
    "{name} from work recommended a restaurant in {place}",
    "Reminder to call {name} about {topic}",
    "{name} moved to {place} last year",
    "Read an article about {topic} that {name} shared",
    "{name} is organising {topic}",
    "Bought a gift for {name} in {place}",
    "{name} asked for help with {topic} on {day}",
]


def distractors(n: int, seed: int = 7) -> list[str]:
    """``n`` plausible memories unrelated to the queries' answers."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        t = rng.choice(_TEMPLATES)
        out.append(
            t.format(
                name=rng.choice(_NAMES),
                topic=rng.choice(_TOPICS),
                place=rng.choice(_PLACES),
                day=rng.choice(_DAYS),
            )
        )
    return out
